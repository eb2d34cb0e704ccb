#include "workers/kind_store.h"

#include "provenance/run_report.h"
#include "provenance/workspace_key.h"

namespace atelier {

std::optional<provenance::KeyPair> KindStore::signing_key() {
  if (config_.dir.empty()) return std::nullopt;
  return provenance::workspace_signing_key(config_.dir, store_);
}

FileScope KindStore::file_scope() {
  const std::optional<RunRow> r = run();
  return FileScope(config_, r && r->confined);
}

std::string KindStore::run_report_html() {
  return provenance::run_report_html(store_, assets_, lease_.run_id);
}

}  // namespace atelier
