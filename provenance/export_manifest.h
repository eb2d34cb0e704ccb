// The signed sidecar manifest `atelier export` writes beside each deliverable
// (NAME.manifest.json, format atelier-export-manifest/2, manifest_format.h): what made the file,
// from which models and inputs (described as lineage.h's describe_input does for
// the run report), its check verdicts, and links to the manifest the file carries
// (a PNG's embedded one, a video's sidecar asset). Invariant: the manifest is
// signed over its canonical form with the key given, so an auditor holding the
// workspace's public key can check it with no access to the job database.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "orchestrator/asset_store.h"
#include "orchestrator/store.h"
#include "provenance/signing.h"

namespace atelier::provenance {

struct ExportedFile {
  const RunRow& run;
  const JobRow& job;
  const AssetRow& asset;
  std::string file_name;  // as written into the export folder
  bool quarantined = false;
  std::string exported_at;  // display time of the export
};

nlohmann::json export_manifest(Store& store, const AssetStore& files, const ExportedFile& f,
                               const KeyPair& key);

}  // namespace atelier::provenance
