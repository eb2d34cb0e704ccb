// `atelier provenance TARGET` and `--used-by TARGET`: where a file came from, or
// everything made from it. TARGET is a sha256, or a file found (in this order) by
// its exact sha256, by its embedded Atelier manifest (the job it names, then the
// output with the same pixels), or by the nearest perceptual hash among the
// workspace's images, which is always reported as a similarity match with its
// distances. Exit 0 found, 1 not found (the nearest is named), 2 unreadable input.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "checks/copy_match.h"
#include "cli_util.h"
#include "commands.h"
#include "media/hash/image_hashes.h"
#include "media/png_io.h"
#include "media/png_meta.h"
#include "orchestrator/asset_hashes.h"
#include "common/errors.h"
#include "orchestrator/ids.h"
#include "orchestrator/lineage.h"
#include "orchestrator/model_files.h"
#include "provenance/signing.h"
#ifdef ATELIER_WITH_ML
#include "media/image_decode.h"
#endif

namespace atelier::cli {
namespace {

namespace fs = std::filesystem;

struct Located {
  std::string sha256;
  std::string how;  // sha256, manifest, similarity
  json detail = json::object();
};

bool is_png_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  char sig[8] = {};
  in.read(sig, 8);
  return in.gcount() == 8 && std::string(sig, 8) == std::string("\x89PNG\r\n\x1a\n", 8);
}

// The output of the job a manifest names whose own manifest records the same pixels.
std::optional<Located> by_manifest(Store& store, const AssetStore& files, const fs::path& file,
                                   json& notes) {
  if (!is_png_file(file)) return std::nullopt;
  std::optional<std::string> text;
  try {
    text = media::find_text(media::read_png_metadata_file(file), "atelier");
  } catch (const std::exception& e) {
    notes["manifest"] = std::string("unreadable: ") + e.what();
    return std::nullopt;
  }
  if (!text) return std::nullopt;
  json m;
  try {
    m = json::parse(*text);
  } catch (const json::exception&) {
    notes["manifest"] = "present but not JSON";
    return std::nullopt;
  }
  if (!m.is_object() || !m.contains("job") || !m["job"].is_number_integer() ||
      !m.contains("pixels_sha256") || !m["pixels_sha256"].is_string()) {
    notes["manifest"] = "present but without a job and pixels_sha256";
    return std::nullopt;
  }
  const std::string pixels = m["pixels_sha256"].get<std::string>();
  // The manifest is evidence only as far as its signature goes: say how far.
  std::string signature;
  if (provenance::json_nesting_depth(*text) > provenance::kMaxManifestDepth) {
    signature = "not checked: nested too deeply";
  } else {
    const provenance::SignatureCheck sc = provenance::check_manifest_signature(m);
    switch (sc.status) {
      case provenance::SignatureCheck::valid:
        signature = store.find_signing_key(sc.key_id)
                        ? "valid, by this workspace's key " + sc.key_id
                        : "valid, by key " + sc.key_id + ", which this workspace does not trust";
        break;
      case provenance::SignatureCheck::unsigned_manifest:
        signature = "unsigned";
        break;
      case provenance::SignatureCheck::mismatch:
        signature = "INVALID: the manifest was changed after it was signed by key " + sc.key_id;
        break;
      default:
        signature = "malformed: " + sc.reason;
    }
  }
  for (const AssetRow& out : store.job_output_assets(m["job"].get<int64_t>())) {
    if (out.media_type != "image/png") continue;
    try {
      auto t = media::find_text(media::read_png_metadata_file(files.path_for(out.sha256, out.ext)),
                                "atelier");
      if (t && json::parse(*t).value("pixels_sha256", "") == pixels)
        return Located{out.sha256,
                       "manifest",
                       {{"job", job_ref(m["job"].get<int64_t>())},
                        {"pixels_sha256", pixels},
                        {"signature", signature},
                        {"note",
                         "the file's embedded manifest names this job and these pixels; "
                         "its bytes differ from the stored asset"}}};
    } catch (const std::exception&) {
      continue;
    }
  }
  notes["manifest"] = "names " + job_ref(m["job"].get<int64_t>()) +
                      ", which has no output with the recorded pixels in this workspace";
  return std::nullopt;
}

media::Image decode_any(const fs::path& file, char** argv) {
  if (is_png_file(file)) return media::read_png(file, 4);
#ifdef ATELIER_WITH_ML
  (void)argv;
  return media::read_image(file);
#else
  exec_ml_binary(argv);  // other formats need OpenCV's codecs
#endif
}

Located by_similarity(Store& store, const fs::path& file, char** argv, const json& notes) {
  media::Image img;
  try {
    img = decode_any(file, argv);
  } catch (const media::ImageError& e) {
    throw InputError(std::string("provenance: ") + e.what());
  }
  const media::ImageHashes h = media::hash_image(img);
  if (!h.hashable())
    throw Failure("provenance: " + file.string() + " is not in this workspace (no asset has its " +
                  "sha256" + (notes.empty() ? "" : ", " + notes.value("manifest", "")) +
                  ") and it is unhashable (quality " + std::to_string(h.quality) +
                  "), so no similar image can be looked for");
  // The nearest stored image by PDQ distance (a scan: a few milliseconds per
  // million images), called a match within kTraceRadius. That is wider than the
  // copyright check's radius: here the question is "which of ours is this most
  // likely to be", and the answer says how sure it is; unrelated images sit
  // around 128 bits apart.
  constexpr int kTraceRadius = 64;
  int best = 257;
  std::string nearest;
  media::ImageHashes nearest_hashes;
  for (const auto& [sha, stored] : store.hashed_assets()) {
    const media::ImageHashes w = from_asset_hashes(stored);
    if (!w.hashable()) continue;
    if (int d = media::hamming(w.pdq, h.pdq); d < best) {
      best = d;
      nearest = sha;
      nearest_hashes = w;
    }
  }
  if (!nearest.empty() && best <= kTraceRadius) {
    json d = {{"pdq_distance", best},
              {"colour_distance", checks::colour_gate_distance(nearest_hashes.colour, h.colour)},
              {"radius", kTraceRadius},
              {"note",
               "a similarity match, not proof of identity: the nearest stored image by "
               "perceptual hash"}};
    if (notes.contains("manifest")) d["manifest"] = notes["manifest"];
    return {nearest, "similarity", d};
  }
  throw Failure("provenance: " + file.string() +
                " matches nothing in this workspace: no asset has its sha256, " +
                (notes.contains("manifest") ? notes["manifest"].get<std::string>()
                                            : std::string("it carries no Atelier manifest")) +
                ", and " +
                (nearest.empty() ? std::string("no stored image is hashed")
                                 : "the nearest image, " + nearest.substr(0, 16) + ", is " +
                                       std::to_string(best) + " bits of 256 away"));
}

Located locate(Store& store, const AssetStore& files, const std::string& target, char** argv) {
  const fs::path file(target);
  if (is_sha256_hex(target) && !fs::exists(file)) return {target, "sha256"};
  if (!fs::is_regular_file(file))
    throw InputError("provenance: " + target + ": no such file (or give a sha256)");
  const std::string sha = sha256_file(file);
  if (store.get_asset(sha) || store.find_model(sha)) return {sha, "sha256"};
  json notes = json::object();
  if (auto m = by_manifest(store, files, file, notes)) return *m;
  return by_similarity(store, file, argv, notes);
}

}  // namespace

int cmd_provenance(const Globals& g, const ProvenanceArgs& a, char** argv) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  const AssetStore files = ws.asset_store();
  const bool down = !a.used_by.empty();
  const Located at = locate(*store, files, down ? a.used_by : a.target, argv);
  const LineageNode tree =
      down ? trace_downstream(*store, at.sha256) : trace_upstream(*store, at.sha256);
  if (a.format == "prov-json") {
    std::cout << prov_json(tree).dump(2) << "\n";
    return 0;
  }
  json found = {{"sha256", at.sha256}, {"by", at.how}};
  if (!at.detail.empty()) found["detail"] = at.detail;
  if (g.json || a.format == "json") {
    json out = {{"found", found}, {down ? "downstream" : "lineage", lineage_json(tree)}};
    if (down) {
      out["used_by"] = json::array();
      for (const LineageNode* n : lineage_assets(tree))
        out["used_by"].push_back({{"sha256", n->id}, {"info", n->info}, {"checks", n->checks}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << "found by " << at.how;
  if (at.how == "similarity")
    std::cout << " (PDQ distance " << at.detail["pdq_distance"].get<int>() << " of 256, colour "
              << at.detail["colour_distance"].get<double>() << "): not proof of identity";
  if (at.how == "manifest")
    std::cout << " (" << at.detail["job"].get<std::string>()
              << "; signature: " << at.detail["signature"].get<std::string>() << ")";
  std::cout << "\n";
  print_lineage(std::cout, tree);
  if (down) {
    const auto assets = lineage_assets(tree);
    std::cout << assets.size() << " asset(s) downstream\n";
  }
  return 0;
}

}  // namespace atelier::cli
