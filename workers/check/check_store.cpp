// The check kind's reads through KindStore (workers/kind_store.h): the lineage
// walks of SubjectContext and the copyright registry, both read-only.
#include "workers/check/run_checks.h"
#include "workers/check/subject_context.h"
#include "workers/kind_store.h"

namespace atelier {

SubjectContext KindStore::subject_context() {
  return SubjectContext(store_, assets_, config_);
}

std::unique_ptr<RegistryIndex> KindStore::copyright_registry(const CopyrightConfig& c) {
  return load_registry(store_, c);
}

}  // namespace atelier
