// Export sidecar manifests; see export_manifest.h.
#include "provenance/export_manifest.h"

#include "media/png_meta.h"
#include "orchestrator/ids.h"
#include "provenance/generation_manifest.h"
#include "provenance/lineage.h"
#include "provenance/manifest_format.h"

namespace atelier::provenance {

using nlohmann::json;

json export_manifest(Store& store, const AssetStore& files, const ExportedFile& f,
                     const KeyPair& key) {
  json inputs = json::array(), models = json::array();
  for (const InputRef& ref : store.job_inputs(f.job.id)) {
    const InputFact in = describe_input(store, ref);
    json e = {{"sha256", in.sha256}, {"role", in.role}};
    if (in.model) {
      e["name"] = in.model->name;
      models.push_back(e);
    } else {
      if (in.asset && in.asset->source_path) {
        e["source"] = *in.asset->source_path;
        if (in.asset->licence) e["licence"] = *in.asset->licence;
        if (in.asset->imports.size() > 1) e["imports"] = imports_json(in.asset->imports);
      }
      inputs.push_back(e);
    }
  }
  json checks = json::array();
  for (const CheckRow& c : store.asset_checks(f.asset.sha256)) {
    json v = {{"check", c.check_kind},
              {"verdict", c.verdict},
              {"quarantined", c.quarantined},
              {"job", c.job_id ? json(job_ref(*c.job_id)) : json(nullptr)}};
    if (c.details.contains("label")) v["label"] = c.details["label"];
    if (c.details.contains("reason")) v["reason"] = c.details["reason"];
    checks.push_back(std::move(v));
  }
  json manifest = {{"format", kExportFormat},
                   {"software", "atelier 0.1.0"},
                   {"file", f.file_name},
                   {"sha256", f.asset.sha256},
                   {"media_type", f.asset.media_type},
                   {"bytes", f.asset.bytes},
                   {"run", run_ref(f.run.id)},
                   {"run_name", f.run.name},
                   {"job", job_ref(f.job.id)},
                   {"stage", f.job.stage},
                   {"kind", f.job.kind},
                   {"matrix", f.job.matrix},
                   {"params", f.job.params},
                   {"models", models},
                   {"inputs", inputs},
                   {"checks", checks},
                   {"quarantined", f.quarantined},
                   {"exported_at", f.exported_at}};
  if (f.asset.media_type.rfind("image/", 0) == 0) {
    manifest["digital_source_type"] =
        f.job.kind == "generate"
            ? kTrainedAlgorithmicMedia
            : "http://cv.iptc.org/newscodes/digitalsourcetype/compositeSynthetic";
    if (f.asset.media_type == "image/png") try {
        const auto src = files.path_for(f.asset.sha256, f.asset.ext);
        if (auto t = media::find_text(media::read_png_metadata_file(src), kManifestKeyword))
          manifest["embedded_manifest_sha256"] = atelier::sha256_hex(*t);
      } catch (const std::exception&) {
        // An unreadable embedded manifest is left out; the sidecar still says the rest.
      }
  }
  if (f.asset.media_type.rfind("video/", 0) == 0)
    for (const InputRef& made : store.assets_made_from(f.asset.sha256))
      if (made.role == "video") manifest["video_manifest_sha256"] = made.sha256;
  return sign_manifest(std::move(manifest), key);
}

}  // namespace atelier::provenance
