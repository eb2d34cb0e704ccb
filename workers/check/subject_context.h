// Gathers a CheckSubject's text and lineage from the job database: the prompt (the
// signed prompt of the PNG's manifest, else the producing job's recorded prompt,
// else what the file claims unsigned: provenance/embedded_prompt.h), the captions made
// from it (asset_sources), the training sets of every model and LoRA upstream of
// it, and every imported input upstream with or without a licence. Lineage is
// walked through producing jobs' inputs, depth first, each asset once.
// Training sets are cached for the life of the gatherer (one check job), since a
// batch's images mostly share their models.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "orchestrator/asset_store.h"
#include "orchestrator/config.h"
#include "workers/check/check_subject.h"

namespace atelier {

class SubjectContext {
 public:
  SubjectContext(Store& store, const AssetStore& files, const WorkspaceConfig& config);
  // Fills prompt, captions, training and licence lists of `s` (whose sha256 is an
  // asset of the store). `want_training` / `want_licence` skip the lineage walks
  // a stage did not ask for.
  void fill(CheckSubject& s, bool want_training, bool want_licence);

 private:
  std::shared_ptr<const TrainingSet> training_set_of(const std::string& model_sha);
  std::shared_ptr<const TrainingSet> shipped_training_set(const ModelRow& m);
  void add_licences(CheckSubject& s, const AssetRow& a);
  Store& store_;
  const AssetStore& files_;
  const WorkspaceConfig& config_;
  std::map<std::string, std::shared_ptr<const TrainingSet>> sets_;
};

// A file's prompt for the checks, as fill() reads it for an asset without a
// producing job's prompt: only a PNG's (by its content, whatever its name), the
// signed one, else the file's unsigned claims.
void read_embedded_prompt(Store& store, CheckSubject& s);

}  // namespace atelier
