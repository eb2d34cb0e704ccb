// The workspace key and workspace creation with it; see workspace_key.h.
#include "provenance/workspace_key.h"

#include "common/errors.h"

namespace atelier::provenance {

KeyPair workspace_signing_key(const std::filesystem::path& dir, Store& store) {
  LoadedKey k;
  try {
    k = load_or_create_key_pair(dir / "keys");
  } catch (const KeyError& e) {
    throw InputError(std::string("signing key: ") + e.what());
  }
  if (k.created || !store.find_signing_key(k.key.key_id))
    store.add_signing_key({k.key.key_id, k.key.public_hex(), "workspace", "", 0});
  return std::move(k.key);
}

Workspace init_workspace(const std::filesystem::path& dir, const std::optional<std::string>& store,
                         const std::optional<std::string>& assets, bool create_store) {
  Workspace ws = Workspace::init(dir, store, assets, create_store);
  workspace_signing_key(ws.dir(), *ws.open_store());
  return ws;
}

}  // namespace atelier::provenance
