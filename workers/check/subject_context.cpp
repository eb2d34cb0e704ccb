// Gathering a subject's text and lineage; see subject_context.h.
#include "workers/check/subject_context.h"

#include <fstream>
#include <functional>
#include <set>

#include "common/errors.h"
#include "media/content_type.h"
#include "media/image_decode.h"
#include "ml/emoji_dataset.h"
#include "orchestrator/asset_hashes.h"
#include "orchestrator/ids.h"
#include "provenance/embedded_prompt.h"

namespace atelier {
namespace {

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

bool is_model_role(const std::string& role) {
  return role == "model" || role == "base_model" || role == "lora" || role == "loras";
}

std::string short_sha(const std::string& sha) {
  return sha.substr(0, 12);
}

// Hashes of an image file, for a training image that has none stored.
std::optional<media::ImageHashes> hash_file(const std::filesystem::path& p) {
  try {
    return media::hash_image(media::read_image_reduced(p).image);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void build_matcher(TrainingSet& set, std::vector<checks::HashedWork> works) {
  if (works.empty()) {
    if (set.unavailable.empty()) set.unavailable = "no hashable training images";
    return;
  }
  set.matcher = std::make_unique<checks::CopyMatcher>(std::move(works));
}

// Only a PNG (by its content, whatever its name or recorded type) carries a prompt.
bool is_png(const std::filesystem::path& file) {
  try {
    return media::sniff_file(file).image_format == media::ImageFormat::png;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

void read_embedded_prompt(Store& store, CheckSubject& s) {
  if (!is_png(s.path)) return;
  if (auto p = provenance::embedded_prompt(store, s.path)) {
    s.prompt = std::move(p->text);
    s.prompt_source = std::move(p->source);
  }
}

SubjectContext::SubjectContext(Store& store, const AssetStore& files, const WorkspaceConfig& config)
    : store_(store), files_(files), config_(config) {}

// An imported input's licences: every import of its bytes counts, and the most
// restrictive declaration judges it (no declaration at all is the worst).
void SubjectContext::add_licences(CheckSubject& s, const AssetRow& a) {
  std::vector<AssetImport> imports = a.imports;
  if (imports.empty()) imports.push_back({*a.source_path, a.licence, "", a.created_at});
  std::vector<std::string> declared;
  bool undeclared = false;
  for (const AssetImport& i : imports) {
    const std::string who = i.source_path + " (" + short_sha(a.sha256) + ")";
    if (i.licence && !i.licence->empty()) {
      s.licensed.push_back(who + ": " + *i.licence);
      declared.push_back(*i.licence);
    } else {
      s.unlicensed.push_back(who);
      undeclared = true;
    }
  }
  if (undeclared || declared.empty()) return;
  const LicenceRanking& r = config_.licences;
  const std::string worst = most_restrictive(r, declared);
  if (!r.accepted(worst))
    s.restricted.push_back(imports.front().source_path + " (" + short_sha(a.sha256) +
                           "): " + worst + " (" + r.class_name(worst) + ")");
}

void SubjectContext::fill(CheckSubject& s, bool want_training, bool want_licence) {
  s.lineage_known = true;
  const std::optional<AssetRow> self = store_.get_asset(s.sha256);
  // The signed prompt first; then the job database's record of the job that
  // made it; the file's unsigned text only when neither says anything.
  std::optional<provenance::EmbeddedPrompt> embedded;
  if (is_png(s.path)) embedded = provenance::embedded_prompt(store_, s.path);
  if (embedded && !embedded->signed_by.empty()) {
    s.prompt = embedded->text;
    s.prompt_source = embedded->source;
  }
  if (!s.prompt && self && self->job_id)
    if (auto job = store_.get_job(*self->job_id))
      if (job->params.contains("prompt") && job->params["prompt"].is_string()) {
        s.prompt = job->params["prompt"].get<std::string>();
        s.prompt_source = "job params (" + job_ref(job->id) + ")";
      }
  if (!s.prompt && embedded) {
    s.prompt = embedded->text;
    s.prompt_source = embedded->source;
  }
  for (const InputRef& made : store_.assets_made_from(s.sha256)) {
    auto a = store_.get_asset(made.sha256);
    if (a && a->media_type == "text/plain")
      s.captions.push_back(read_text(files_.path_for(a->sha256, a->ext)));
  }
  if (!want_training && !want_licence) return;

  std::set<std::string> seen, models_seen;
  std::function<void(const std::string&)> visit = [&](const std::string& sha) {
    if (!seen.insert(sha).second) return;
    const std::optional<AssetRow> a = store_.get_asset(sha);
    if (!a) {
      // A model that is not an asset: shipped or user-supplied weights.
      if (auto m = store_.find_model(sha); m && want_licence) {
        const bool card = m->path && std::filesystem::exists(
                                         std::filesystem::path(*m->path).replace_extension(".md"));
        (card ? s.licensed : s.unlicensed)
            .push_back("model " + m->name + " (" + short_sha(sha) + ")" +
                       (card ? ": its model card" : ": no model card beside its weights"));
      }
      return;
    }
    if (a->source_path && want_licence && sha != s.sha256) add_licences(s, *a);
    std::vector<InputRef> upstream = store_.asset_sources(sha);
    if (a->job_id)
      for (const InputRef& in : store_.job_inputs(*a->job_id)) upstream.push_back(in);
    for (const InputRef& in : upstream) {
      if (is_model_role(in.role) && want_training && models_seen.insert(in.sha256).second)
        s.training.push_back(training_set_of(in.sha256));
      visit(in.sha256);
    }
  };
  visit(s.sha256);
}

std::shared_ptr<const TrainingSet> SubjectContext::training_set_of(const std::string& model_sha) {
  if (auto it = sets_.find(model_sha); it != sets_.end()) return it->second;
  auto set = std::make_shared<TrainingSet>();
  set->model_sha256 = model_sha;
  const std::optional<ModelRow> m = store_.find_model(model_sha);
  set->model = (m ? m->name : std::string("model")) + " (" + short_sha(model_sha) + ")";
  // A LoRA (or any model a job trained from assets) lists its training images in
  // asset_sources.
  std::vector<checks::HashedWork> works;
  for (const InputRef& src : store_.asset_sources(model_sha)) {
    if (src.role != "training_image") continue;
    const std::optional<AssetRow> img = store_.get_asset(src.sha256);
    if (!img) continue;
    std::optional<media::ImageHashes> h;
    if (img->hashes) {
      h = from_asset_hashes(*img->hashes);
    } else if ((h = hash_file(files_.path_for(img->sha256, img->ext)))) {
      store_.set_asset_hashes(img->sha256, to_asset_hashes(*h), 0, 0);
    }
    if (!h || !h->hashable()) continue;
    works.push_back({static_cast<int64_t>(set->works.size()), *h});
    set->works.push_back({img->sha256, img->source_path.value_or(img->sha256)});
  }
  if (set->works.empty() && m && m->path) {
    auto shipped = shipped_training_set(*m);
    sets_[model_sha] = shipped;
    return shipped;
  }
  if (set->works.empty()) set->unavailable = "no record of the images it was trained on";
  build_matcher(*set, std::move(works));
  sets_[model_sha] = set;
  return set;
}

// A shipped model records its training images in NAME.training.json beside its
// weights ({model, style, images: [{file, sha256, unified}]}); the images are the
// emoji dataset's, read from the datasets cache.
std::shared_ptr<const TrainingSet> SubjectContext::shipped_training_set(const ModelRow& m) {
  auto set = std::make_shared<TrainingSet>();
  set->model_sha256 = m.sha256;
  set->model = m.name + " (" + short_sha(m.sha256) + ")";
  std::filesystem::path list = *m.path;
  list.replace_extension(".training.json");
  if (!std::filesystem::exists(list)) {
    set->unavailable = "no training list beside its weights (" + list.string() + ")";
    return set;
  }
  json doc;
  try {
    doc = json::parse(read_text(list));
  } catch (const json::exception& e) {
    set->unavailable = list.string() + ": not JSON: " + e.what();
    return set;
  }
  const std::string style = doc.value("style", "twitter");
  const std::filesystem::path dir = ml::emoji_package_dir(style) / "img" / style / "64";
  if (!std::filesystem::is_directory(dir)) {
    set->unavailable = "its training images are not in the datasets cache (" + dir.string() +
                       "; scripts/fetch_datasets.sh fetches them)";
    return set;
  }
  std::vector<checks::HashedWork> works;
  for (const json& img : doc.value("images", json::array())) {
    const std::string file = img.value("file", "");
    if (file.empty() || file.find('/') != std::string::npos) continue;
    auto h = hash_file(dir / file);
    if (!h || !h->hashable()) continue;
    works.push_back({static_cast<int64_t>(set->works.size()), *h});
    set->works.push_back({img.value("sha256", ""), style + "/" + file});
  }
  build_matcher(*set, std::move(works));
  return set;
}

}  // namespace atelier
