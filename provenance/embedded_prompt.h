// The prompt a PNG says it was generated from, as far as a signature vouches for
// it: what the checks read (the terms check scans it) instead of the unsigned
// `parameters` text, which anyone can edit without touching the signature.
//
// Invariant: `signed_by` is set only when the file's one Atelier manifest reads
// one way (manifest_format.h), holds only its format's fields, and carries a
// valid signature by a key this workspace trusts with that public key; the
// prompt is then the signed generation.prompt, whatever the `parameters` chunk
// says. Otherwise the prompt is every unsigned claim the file makes (each
// `parameters` chunk's prompt and an unverified manifest's), one per line, so
// that a forged copy cannot hide text a check would find in another.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

#include "orchestrator/store.h"

namespace atelier::provenance {

struct EmbeddedPrompt {
  std::string text;
  std::string signed_by;  // the key id, when the signature vouches for the text
  // "signed manifest (key ...)" or "unsigned parameters chunk", for verdicts.
  std::string source;
};

// nullopt when the file is not a readable PNG or claims no prompt at all.
std::optional<EmbeddedPrompt> embedded_prompt(Store& store, const std::filesystem::path& file);

}  // namespace atelier::provenance
