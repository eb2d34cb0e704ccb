// The workspace's own signing key: the key pair in <workspace>/keys and its row
// in the store's signing_keys (origin "workspace"). Invariant: whoever gets the
// key through here also finds it trusted by the store, so a workspace always
// verifies what it signed. The orchestrator core knows nothing of keys; the
// commands that make a workspace call init_workspace to get one from the start.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

#include "orchestrator/store.h"
#include "orchestrator/workspace.h"
#include "provenance/signing.h"

namespace atelier::provenance {

// The key from <dir>/keys; made on first need (a workspace from before signing
// has none) and recorded in the store's signing_keys when missing there. Throws
// InputError for an unusable key file.
KeyPair workspace_signing_key(const std::filesystem::path& dir, Store& store);

// Workspace::init (same arguments), then the workspace's key made and recorded.
Workspace init_workspace(const std::filesystem::path& dir,
                         const std::optional<std::string>& store = std::nullopt,
                         const std::optional<std::string>& assets = std::nullopt,
                         bool create_store = true);

}  // namespace atelier::provenance
