// Running the checks a stage asked for over a batch of subjects: copyright (the
// registry and the training sets in each subject's lineage), terms, licence and
// the bias audit of the whole batch. No job database here: the callers (the
// check kind, `atelier check`) gather the subjects and store the verdicts.
//
// Files are typed by their content (media/content_type.h), not their name or the
// media type recorded for them: a renamed image is checked as an image. Images are
// decoded at reduced size (media/image_decode.h: read_image_reduced), so memory
// stays bounded whatever their size within the limits; stored hashes spare the
// decode unless the bias audit needs the pixels.
//
// Verdicts (pass < warn < not_checked < fail), per subject and check:
//  - copyright: fail on a registry match; a training-image match gives the
//    configured verdict (warn by default); an image that cannot be decoded fails
//    (it must not ship unseen); an unhashable one (quality under 50) warns,
//    since nothing was compared; a file that is not an image is not_checked,
//    its reason naming the file and what it is; otherwise pass.
//  - terms: the worst verdict of the rules that hit the prompt, the captions or
//    (for a text file) its own text; pass when none does; not_checked when there
//    is none of these to read.
//  - licence: the policy's verdict when an imported input upstream has no
//    licence declaration; pass otherwise; not run for a bare file.
//  - bias: one verdict for the batch (checks/bias.h), never per asset; files that
//    are not images are left out of it and listed in its report's `not_images`.
// A subject no check applied to gets not_checked as its worst, never pass.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "workers/check/check_config.h"
#include "workers/check/check_subject.h"

namespace atelier {

// The registry entries a stage compares against, indexed.
struct RegistryIndex {
  std::vector<RegistryEntry> entries;  // matcher ids index this
  std::unique_ptr<checks::CopyMatcher> matcher;
};
// Throws InputError when the stage names a label the registry does not have.
std::unique_ptr<RegistryIndex> load_registry(Store& store, const CopyrightConfig& c);

struct SubjectOutcome {
  std::vector<CheckVerdict> verdicts;
  std::string worst = "pass";
  std::string reason;        // why, when worst is not_checked without a verdict
  std::string content_type;  // what the file holds, by its content
  // Hashes computed here because the asset had none stored (to store them).
  std::optional<AssetHashes> computed_hashes;
  int width = 0, height = 0;
};

struct CheckOutcome {
  std::vector<SubjectOutcome> subjects;  // one per subject, in order
  std::optional<CheckVerdict> bias;      // the batch verdict, when bias ran
  nlohmann::json bias_report;
  std::vector<uint8_t> bias_chart;  // PNG
};

CheckOutcome run_checks(const std::vector<CheckSubject>& subjects, const CheckConfig& cfg,
                        const RegistryIndex* registry);

}  // namespace atelier
