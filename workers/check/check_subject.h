// What the checks look at for one asset (or one file given to `atelier check`):
// the file, its stored hashes, the text that described it (the prompt it was
// generated from, its captions) and what its lineage says (the training sets of
// the models and LoRAs that made it, the imported inputs without a licence).
// Gathering it from the job database is subject_context.h; the checks themselves
// run in run_checks.h and do not read the database.
#pragma once
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checks/copy_match.h"
#include "orchestrator/store.h"

namespace atelier {

// The images one model or LoRA was trained on, hashed and indexed.
struct TrainingSet {
  std::string model;  // name (sha256 prefix) as verdicts show it
  std::string model_sha256;
  struct Work {
    std::string sha256, source;  // source: file name or path, as recorded
  };
  std::vector<Work> works;  // ids of the matcher index this
  std::unique_ptr<checks::CopyMatcher> matcher;
  std::string unavailable;  // why its images could not be read (then no matcher)
};

struct CheckSubject {
  std::string sha256;  // of the file
  std::string name;    // the output name, or the path given
  std::filesystem::path path;
  std::string media_type;
  std::optional<AssetHashes> stored_hashes;  // as the asset row has them
  std::optional<std::string> prompt;         // the prompt it was generated from
  // Where the prompt was read: "signed manifest (key ...)", "job params", or an
  // unsigned claim ("unsigned parameters chunk", ...); shown in the terms verdict.
  std::string prompt_source;
  std::vector<std::string> captions;  // caption texts made from it
  std::vector<std::shared_ptr<const TrainingSet>> training;
  // Imported inputs upstream of it, with and without a licence declaration
  // ("source (sha256 prefix): licence"; bytes imported more than once under
  // different licences list every import). `restricted`: those whose most
  // restrictive licence ranks below the workspace's bar (licence_rank.h).
  std::vector<std::string> licensed, unlicensed, restricted;
  bool lineage_known = false;  // from the job database (not a bare file)
};

}  // namespace atelier
