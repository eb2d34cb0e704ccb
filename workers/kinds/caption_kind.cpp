// The `caption` kind: one caption asset (text/plain, kohya's one-line form:
// "trigger, sentence, tag, tag") per input image, recorded in asset_sources as
// made from that image. An existing sidecar caption wins over the captioner:
// a text file with the image's stem imported beside it, or `<stem>.txt` next to
// the image's source file. Images that cannot be decoded are skipped and listed
// in captions.json (with every caption's tags and scores); none usable fails the
// job. `export_dir` also writes kohya's dataset layout there: each image with a
// `.txt` caption of the same stem.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "../job_kind.h"
#include "common/errors.h"
#include "kinds/caption.h"
#include "media/image_decode.h"
#include "ml/captioner.h"
#include "ml/image_tensor.h"
#include "orchestrator/model_files.h"
#include "workers/generation/model_cache.h"

namespace atelier {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  s = s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
  std::replace(s.begin(), s.end(), '\n', ' ');  // kohya captions are one line
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

std::string with_trigger(const std::string& caption, const std::string& trigger) {
  if (trigger.empty()) return caption;
  if (caption == trigger || caption.rfind(trigger + ",", 0) == 0) return caption;
  return caption.empty() ? trigger : trigger + ", " + caption;
}

struct Item {
  JobInput input;
  std::string stem;  // for the caption's name and the export
  std::string caption;
  std::string origin;  // "sidecar" or "captioner"
  json details = json::object();
};

class CaptionKind final : public JobKind {
 public:
  void check_params(const json& params) const override { caption_kind().parse(params); }
  void run(JobContext& ctx) override {
    const CaptionParams p = caption_kind().parse(ctx.params());
    const std::string trigger = trim(p.trigger);
    if (trigger.find(',') != std::string::npos)
      throw InputError("caption: param 'trigger' must not contain a comma");
    const int extra_tags = p.tags;
    const bool use_sidecars = p.use_sidecars;

    // Sidecars imported with the images: text files by source path stem.
    std::map<std::string, std::string> imported_text;  // source path without extension
    std::vector<Item> items;
    std::set<std::string> seen;
    for (const auto& in : ctx.inputs()) {
      auto row = ctx.store().asset(in.sha256);
      const std::optional<std::string> src = row ? row->source_path : std::nullopt;
      if (in.media_type.rfind("text/", 0) == 0) {
        if (src) imported_text[fs::path(*src).replace_extension().string()] = in.path;
        continue;
      }
      if (in.media_type.rfind("image/", 0) != 0 || !seen.insert(in.sha256).second) continue;
      Item it;
      it.input = in;
      it.stem = src ? fs::path(*src).stem().string() : in.sha256.substr(0, 16);
      if (src) it.details["source_path"] = *src;
      items.push_back(std::move(it));
    }
    if (items.empty()) throw InputError("caption: the job has no image inputs");

    const FileScope scope = ctx.store().file_scope();
    // Existing captions first.
    for (auto& it : items) {
      if (!use_sidecars || !it.details.contains("source_path")) continue;
      const std::string base =
          fs::path(it.details["source_path"].get<std::string>()).replace_extension().string();
      std::string text_file;
      if (auto t = imported_text.find(base); t != imported_text.end())
        text_file = t->second;
      else if (std::error_code ec; fs::is_regular_file(base + ".txt", ec))
        text_file = scope.check_read(base + ".txt", "caption sidecar").string();
      if (text_file.empty()) continue;
      it.caption = with_trigger(trim(read_file(text_file)), trigger);
      it.origin = "sidecar";
    }

    // The captioner for the rest.
    std::vector<Item*> todo;
    for (auto& it : items)
      if (it.origin.empty()) todo.push_back(&it);
    json skipped = json::array();
    if (!todo.empty()) {
      if (!p.captioner.is_string())
        throw InputError("caption: param 'captioner' must be a model name, path or sha256");
      auto loc = ctx.store().locate_model(p.captioner.get<std::string>());
      std::shared_ptr<CachedCaptioner> cap;
      try {
        cap = load_cached_captioner(loc.file);
      } catch (const std::exception& e) {
        throw InputError(std::string("caption: captioner: ") + e.what());
      }
      ctx.register_model({cap->sha256, "captioner", cap->name, json::object(), std::nullopt,
                          loc.file.string(), 0});
      ctx.add_input(cap->sha256, "captioner");
      at::set_num_threads(
          std::max(1, std::min<int>(caption_kind().spec().threads,
                                    static_cast<int>(std::thread::hardware_concurrency()))));
      const int size = cap->model->config.image_size;
      std::vector<Item*> ok;
      std::vector<torch::Tensor> tensors;
      for (Item* it : todo) {
        ctx.check_cancelled();
        try {
          tensors.push_back(ml::fit_image_tensor(media::read_image(it->input.path), size));
          ok.push_back(it);
        } catch (const std::exception& e) {
          ctx.log().warn("skipping {}: {}", it->input.path, e.what());
          skipped.push_back(
              {{"sha256", it->input.sha256}, {"stem", it->stem}, {"error", e.what()}});
          it->origin = "skipped";
        }
      }
      for (size_t start = 0; start < ok.size(); start += 64) {
        ctx.check_cancelled();
        const size_t end = std::min(ok.size(), start + 64);
        auto batch = torch::stack(
            std::vector<torch::Tensor>(tensors.begin() + start, tensors.begin() + end));
        auto caps = ml::caption_images(cap->model, batch, 8);
        for (size_t i = start; i < end; ++i) {
          const auto& c = caps[i - start];
          Item& it = *ok[i];
          std::string line = c.sentence;
          const auto words = ml::name_words(c.sentence);
          int added = 0;
          for (const auto& [tag, prob] : c.tags) {
            if (added >= extra_tags) break;
            if (std::find(words.begin(), words.end(), tag) != words.end()) continue;
            line += ", " + tag;
            ++added;
          }
          it.caption = with_trigger(line, trigger);
          it.origin = "captioner";
          json tags = json::array();
          for (const auto& [tag, prob] : c.tags) tags.push_back({{"tag", tag}, {"p", prob}});
          it.details["category"] = {{"name", c.category}, {"p", c.category_p}};
          it.details["sentence"] = {{"text", c.sentence}, {"p", c.sentence_p}};
          it.details["tags"] = tags;
        }
        ctx.progress(static_cast<double>(end) / static_cast<double>(ok.size()), "captioning");
      }
    }

    const size_t usable = static_cast<size_t>(std::count_if(
        items.begin(), items.end(), [](const Item& it) { return it.origin != "skipped"; }));
    if (usable == 0)
      throw InputError(
          "caption: none of the " + std::to_string(items.size()) +
          " image(s) could be read; first error: " + skipped[0]["error"].get<std::string>());

    fs::path export_dir;
    if (p.export_dir) {
      export_dir = *p.export_dir;
      if (export_dir.is_relative())
        export_dir = (ctx.config().dir.empty() ? fs::current_path() : fs::path(ctx.config().dir)) /
                     export_dir;
      export_dir = scope.check_write(export_dir, "export_dir");
      fs::create_directories(export_dir);
    }
    json listing = json::array();
    std::map<std::string, int> stems;  // two images with one stem get -2, -3 ...
    for (auto& it : items) {
      if (it.origin == "skipped") continue;
      std::string stem = it.stem;
      if (int n = ++stems[stem]; n > 1) stem += "-" + std::to_string(n);
      auto& out = ctx.write_output(stem + ".txt", it.caption + "\n", "text/plain", "txt");
      out.sources = {{it.input.sha256, "image"}};
      json entry = {{"image", it.input.sha256},
                    {"caption", it.caption},
                    {"caption_sha256", out.sha256},
                    {"origin", it.origin}};
      entry.update(it.details);
      listing.push_back(std::move(entry));
      if (!export_dir.empty()) {
        // Each file is judged too: a link left in the folder must not carry a
        // write elsewhere.
        const auto ext = fs::path(it.input.path).extension();
        fs::copy_file(it.input.path,
                      scope.check_write(export_dir / (stem + ext.string()), "export_dir"),
                      fs::copy_options::overwrite_existing);
        std::ofstream(scope.check_write(export_dir / (stem + ".txt"), "export_dir"),
                      std::ios::binary)
            << it.caption << "\n";
      }
    }
    ctx.write_output(
        "captions.json",
        json{{"captions", listing}, {"skipped", skipped}, {"trigger", trigger}}.dump(1) + "\n",
        "application/json", "json");
    ctx.log().info("captioned {} image(s), {} skipped{}", usable, skipped.size(),
                   export_dir.empty() ? std::string() : "; exported to " + export_dir.string());
  }
};

}  // namespace

std::unique_ptr<JobKind> make_caption_kind() {
  return std::make_unique<CaptionKind>();
}

}  // namespace atelier
