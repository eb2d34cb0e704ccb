#include "kinds/sleep.h"

namespace atelier {

const KindDecl<SleepParams>& sleep_kind() {
  using T = ParamType;
  using S = SleepParams;
  static const auto decl =
      KindDecl<S>({.name = "sleep",
                   .summary = "test and chaos-drill kind: waits, fails or crashes on request"})
          .param(&S::ms, {.name = "ms", .type = T::integer, .doc = "how long to sleep", .min = 0})
          .param(&S::fail_times, {.name = "fail_times",
                                  .type = T::integer,
                                  .doc = "fail the first N attempts with an error",
                                  .min = 0})
          .param(&S::crash_times,
                 {.name = "crash_times",
                  .type = T::integer,
                  .doc = "kill its own worker process abruptly during the first N attempts",
                  .min = 0})
          .param(&S::output, {.name = "output",
                              .type = T::boolean,
                              .doc = "write a small text asset naming the job"})
          .param(&S::ignore_cancel,
                 {.name = "ignore_cancel",
                  .type = T::boolean,
                  .doc = "do not stop on cancel (to drill the supervisor's enforced cancel)"})
          .param(&S::files, {.name = "files",
                             .type = T::files,
                             .doc = "files to import as the job's inputs (lineage drills)"})
          .param(&S::label, {.name = "label",
                             .type = T::text,
                             .doc = "text written into the output asset (templating drills)"});
  return decl;
}

}  // namespace atelier
