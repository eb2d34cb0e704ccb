// What a job kind may ask of the job database, and no more: read its inputs and
// their sources, the assets its dependencies made, its own run's spec and
// stages, find a model, get the workspace's signing key, and record hashes of
// an existing asset. The whole Store (claims, completions, control, tokens)
// stays with the worker loop.
//
// Invariant: a kind writes nothing to the store before its fenced completion
// except writes that are idempotent and true whoever makes them (the reason is
// on each); models it used or made are registered by the completion itself
// (JobContext::register_model), so a worker whose lease was taken over leaves
// no trace.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/asset_store.h"
#include "orchestrator/config.h"
#include "orchestrator/file_scope.h"
#include "orchestrator/model_files.h"
#include "orchestrator/store.h"
#include "provenance/signing.h"

namespace atelier {

class SubjectContext;
struct CopyrightConfig;
struct RegistryIndex;

class KindStore {
 public:
  KindStore(Store& store, const AssetStore& assets, const WorkspaceConfig& config,
            const Lease& lease)
      : store_(store), assets_(assets), config_(config), lease_(lease) {}

  std::optional<AssetRow> asset(const std::string& sha256) { return store_.get_asset(sha256); }
  // The inputs an asset was made from (a caption's image).
  std::vector<InputRef> asset_sources(const std::string& sha256) {
    return store_.asset_sources(sha256);
  }
  // The assets this job's dependencies made, in dependency then name order.
  std::vector<AssetRow> dependency_outputs() { return store_.dependency_outputs(lease_.job_id); }
  // This job's run (its spec and params), and the jobs of one of its stages.
  std::optional<RunRow> run() { return store_.get_run(lease_.run_id); }
  std::vector<StageJob> stage_jobs(const std::string& stage) {
    return store_.stage_jobs(lease_.run_id, stage);
  }
  // A model by name, path or sha256 (InputError naming where it looked).
  ModelLocation locate_model(const std::string& ref) {
    const FileScope scope = file_scope();
    return atelier::locate_model(ref, config_, store_, assets_, &scope);
  }
  // What this job's spec may read and write (confined when its run came over the API).
  FileScope file_scope();

  // The workspace's key, made on first use; nullopt without a workspace folder
  // (a bare test harness). Idempotent: adding the workspace's own public key to
  // the trusted keys is the same row whoever adds it first.
  std::optional<provenance::KeyPair> signing_key();
  // Perceptual hashes of an existing asset that has none yet. Idempotent: the
  // hashes are a function of the asset's immutable bytes, and the store only
  // fills missing ones.
  void record_hashes(const std::string& sha256, const AssetHashes& h, int width, int height) {
    store_.set_asset_hashes(sha256, h, width, height);
  }

  // Read-only helpers that walk more of the database; each is defined beside
  // the kind it serves.
  std::string run_report_html();                                                // report kind
  SubjectContext subject_context();                                             // check kind
  std::unique_ptr<RegistryIndex> copyright_registry(const CopyrightConfig& c);  // check kind

 private:
  Store& store_;
  const AssetStore& assets_;
  const WorkspaceConfig& config_;
  const Lease& lease_;
};

}  // namespace atelier
