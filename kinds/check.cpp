#include "kinds/check.h"

namespace atelier {

const KindDecl<CheckKindParams>& check_kind() {
  using T = ParamType;
  using C = CheckKindParams;
  static const auto decl =
      KindDecl<C>({.name = "check",
                   .binary = kMlBinary,
                   .summary = "copyright, terms, licence and bias checks; forwards what its gate "
                              "lets through"})
          .param(&C::copyright, {.name = "copyright",
                                 .type = T::any,
                                 .doc = "true or {registry: true|false|[labels], training: "
                                        "warn|fail|off}: copies of registry works (fail) and of "
                                        "training images upstream (warn)"})
          .param(&C::terms, {.name = "terms",
                             .type = T::any,
                             .doc = "rules for prompts and captions: [term | {term, verdict, "
                                    "reason}] (whole words, any case, any script)"})
          .param(&C::licence,
                 {.name = "licence",
                  .type = T::any,
                  .doc = "warn or fail when an imported input upstream declares no licence"})
          .param(&C::bias, {.name = "bias",
                            .type = T::any,
                            .doc = "true or {...}: skin tone and gender audit of the batch"})
          .param(&C::gate, {.name = "gate",
                            .type = T::string,
                            .doc = "fail: keep assets with a failing verdict out of later "
                                   "stages; warn: record only",
                            .one_of = {"fail", "warn"}})
          .param(&C::images, {.name = "images",
                              .type = T::files,
                              .doc = "check these files instead of the inputs"});
  return decl;
}

}  // namespace atelier
