// Running the checks over a batch; see run_checks.h.
#include "workers/check/run_checks.h"

#include <fstream>
#include <sstream>

#include "checks/bias_chart.h"
#include "common/errors.h"
#include "media/content_type.h"
#include "media/image_decode.h"
#include "orchestrator/asset_hashes.h"

namespace atelier {
namespace {

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// "acme, a cup of coffee, drink, cup" -> its comma-separated parts, trimmed.
std::vector<std::string> caption_tags(const std::vector<std::string>& captions) {
  std::vector<std::string> tags;
  for (const std::string& c : captions) {
    std::stringstream ss(c);
    std::string part;
    while (std::getline(ss, part, ',')) {
      const auto b = part.find_first_not_of(" \t\r\n");
      const auto e = part.find_last_not_of(" \t\r\n");
      if (b != std::string::npos) tags.push_back(part.substr(b, e - b + 1));
    }
  }
  return tags;
}

void add(SubjectOutcome& out, CheckVerdict v) {
  out.worst = worse_verdict(out.worst, v.verdict);
  out.verdicts.push_back(std::move(v));
}

CheckVerdict verdict(const std::string& kind, const std::string& v, nlohmann::json details,
                     std::optional<double> score = std::nullopt) {
  CheckVerdict c;
  c.check_kind = kind;
  c.verdict = v;
  c.details = std::move(details);
  c.score = score;
  return c;
}

// Copyright of one decoded (or undecodable) image.
CheckVerdict copyright_verdict(const CheckSubject& s, const std::optional<media::ImageHashes>& h,
                               const std::string& decode_error, const CopyrightConfig& cfg,
                               const RegistryIndex* registry) {
  if (!decode_error.empty())
    return verdict("copyright", "fail",
                   {{"error", decode_error},
                    {"reason", "the image cannot be decoded, so it cannot be checked"}});
  if (!h->hashable())
    return verdict("copyright", "warn",
                   {{"unhashable", true},
                    {"quality", h->quality},
                    {"reason", "unhashable: PDQ quality " + std::to_string(h->quality) +
                                   " is under " + std::to_string(media::kPdqMinQuality) +
                                   " (too small or too flat), so it was not compared"}});
  nlohmann::json details = nlohmann::json::object();
  std::string v = "pass";
  std::optional<double> nearest;
  auto note_distance = [&](int d) {
    if (!nearest || d < *nearest) nearest = d;
  };
  if (registry && registry->matcher) {
    nlohmann::json matches = nlohmann::json::array();
    for (const checks::CopyMatch& m : registry->matcher->find(*h)) {
      const RegistryEntry& e = registry->entries.at(static_cast<size_t>(m.id));
      matches.push_back({{"label", e.label},
                         {"registry_id", e.id},
                         {"source", e.source_path},
                         {"sha256", e.sha256},
                         {"pdq_distance", m.pdq_distance},
                         {"colour_distance", m.colour_distance}});
      note_distance(m.pdq_distance);
    }
    if (!matches.empty()) {
      v = "fail";
      details["registry_matches"] = matches;
      details["label"] = matches[0]["label"];
    }
    details["registry_size"] = registry->entries.size();
  }
  if (cfg.training_verdict != "off") {
    nlohmann::json memorised = nlohmann::json::array(), not_checked = nlohmann::json::array(),
                   compared = nlohmann::json::array();
    for (const auto& set : s.training) {
      if (!set->matcher) {
        not_checked.push_back({{"model", set->model}, {"why", set->unavailable}});
        continue;
      }
      compared.push_back({{"model", set->model}, {"images", set->works.size()}});
      for (const checks::CopyMatch& m : set->matcher->find(*h)) {
        const TrainingSet::Work& w = set->works.at(static_cast<size_t>(m.id));
        memorised.push_back({{"model", set->model},
                             {"source", w.source},
                             {"sha256", w.sha256},
                             {"pdq_distance", m.pdq_distance},
                             {"colour_distance", m.colour_distance}});
        note_distance(m.pdq_distance);
      }
    }
    if (!compared.empty()) details["training_sets"] = compared;
    if (!not_checked.empty()) details["training_not_checked"] = not_checked;
    if (!memorised.empty()) {
      details["memorised"] = memorised;
      v = worse_verdict(v, cfg.training_verdict);
    }
  }
  if (v == "pass") details["reason"] = "no registry work or training image within the radius";
  return verdict("copyright", v, std::move(details), nearest);
}

std::string not_image_reason(const CheckSubject& s, const media::ContentType& c,
                             const std::string& who) {
  return s.name + " is " + c.description + ", not an image: " + who + " read" +
         (who.rfind("the checks", 0) == 0 ? "" : "s") + " images only";
}

// An image check's verdict on a file that is not an image: nothing was compared.
CheckVerdict not_an_image(const std::string& kind, const CheckSubject& s,
                          const media::ContentType& c) {
  return verdict(kind, "not_checked",
                 {{"not_an_image", true},
                  {"content", c.media_type},
                  {"reason", not_image_reason(s, c, "the " + kind + " check")}});
}

CheckVerdict terms_verdict(const CheckSubject& s, const std::vector<checks::TermRule>& rules,
                           const std::string& own_text) {
  std::vector<checks::TermHit> hits;
  auto scan = [&](std::string_view text, std::string_view field) {
    for (auto& h : checks::find_terms(rules, text, field)) hits.push_back(std::move(h));
  };
  if (s.prompt) scan(*s.prompt, "prompt");
  for (const std::string& c : s.captions) scan(c, "caption");
  if (!own_text.empty()) scan(own_text, "text");
  const bool nothing = !s.prompt && s.captions.empty() && own_text.empty();
  std::string v = nothing ? "not_checked" : "pass";
  nlohmann::json list = nlohmann::json::array();
  for (const auto& h : hits) {
    v = worse_verdict(v, h.verdict);
    list.push_back({{"term", h.term},
                    {"verdict", h.verdict},
                    {"reason", h.reason},
                    {"field", h.field},
                    {"offset", h.offset}});
  }
  nlohmann::json details = {
      {"hits", list},
      {"fields", {{"prompt", s.prompt.has_value()}, {"captions", s.captions.size()}}}};
  if (s.prompt && !s.prompt_source.empty()) details["prompt_source"] = s.prompt_source;
  if (nothing) details["reason"] = s.name + ": no prompt, caption or text to check";
  return verdict("terms", v, std::move(details), static_cast<double>(hits.size()));
}

CheckVerdict licence_verdict(const CheckSubject& s, const std::string& policy) {
  nlohmann::json details = {
      {"licensed", s.licensed}, {"unlicensed", s.unlicensed}, {"restricted", s.restricted}};
  if (s.unlicensed.empty() && s.restricted.empty()) {
    details["reason"] = s.licensed.empty()
                            ? "no imported inputs upstream"
                            : "every imported input upstream declares a licence the workspace "
                              "accepts";
    return verdict("licence", "pass", std::move(details));
  }
  std::string reason;
  if (!s.unlicensed.empty())
    reason = std::to_string(s.unlicensed.size()) +
             " import(s) upstream declare no licence (give images: {path, licence} or a "
             "licence.txt beside them)";
  if (!s.restricted.empty())
    reason += (reason.empty() ? "" : "; ") + std::to_string(s.restricted.size()) +
              " input(s) upstream are licensed more restrictively than the workspace accepts "
              "(atelier.yaml licences.accept): " +
              s.restricted.front() + (s.restricted.size() > 1 ? ", ..." : "");
  details["reason"] = reason;
  return verdict("licence", policy, std::move(details),
                 static_cast<double>(s.unlicensed.size() + s.restricted.size()));
}

}  // namespace

std::unique_ptr<RegistryIndex> load_registry(Store& store, const CopyrightConfig& c) {
  auto reg = std::make_unique<RegistryIndex>();
  if (!c.registry) return reg;
  if (c.labels.empty()) {
    reg->entries = store.registry(std::nullopt);
  } else {
    for (const std::string& label : c.labels) {
      auto part = store.registry(label);
      if (part.empty())
        throw InputError("check: copyright.registry names label '" + label +
                         "', which has no works (atelier registry add DIR --label " + label + ")");
      reg->entries.insert(reg->entries.end(), part.begin(), part.end());
    }
  }
  std::vector<checks::HashedWork> works;
  for (size_t i = 0; i < reg->entries.size(); ++i) {
    const RegistryEntry& e = reg->entries[i];
    const media::ImageHashes h = from_asset_hashes(e.hashes);
    if (h.hashable()) works.push_back({static_cast<int64_t>(i), h});
  }
  if (!works.empty()) reg->matcher = std::make_unique<checks::CopyMatcher>(std::move(works));
  return reg;
}

CheckOutcome run_checks(const std::vector<CheckSubject>& subjects, const CheckConfig& cfg,
                        const RegistryIndex* registry) {
  CheckOutcome out;
  std::vector<checks::BiasItem> batch;
  nlohmann::json not_images = nlohmann::json::array();
  for (const CheckSubject& s : subjects) {
    SubjectOutcome& o = out.subjects.emplace_back();
    // Typed by content: a renamed image is checked as an image, and a file that
    // is not one is not passed by the image checks. A file that cannot be read
    // fails them, as an image that cannot be decoded does: it must not ship unseen.
    media::ContentType content;
    std::string read_error;
    try {
      content = media::sniff_file(s.path);
    } catch (const std::exception& e) {
      read_error = e.what();
    }
    o.content_type = read_error.empty() ? content.media_type : s.media_type;
    const bool image = !read_error.empty() || content.image();
    const bool text = read_error.empty() && content.text;
    std::optional<media::ImageHashes> hashes;
    std::string decode_error = read_error;
    std::optional<checks::SkinReading> skin;
    // Stored hashes spare the decode unless the bias audit needs the pixels.
    const bool decode =
        image && read_error.empty() && ((cfg.copyright && !s.stored_hashes) || cfg.bias);
    if (image && s.stored_hashes) hashes = from_asset_hashes(*s.stored_hashes);
    if (decode) {
      try {
        // Reduced to at most kHashDecodePixels while decoding, so memory stays
        // bounded whatever the size within the limits.
        const media::ReducedImage img = media::read_image_reduced(s.path);
        if (!s.stored_hashes) {
          hashes = media::hash_image(img.image);
          o.computed_hashes = to_asset_hashes(*hashes);
          o.width = img.full_width;
          o.height = img.full_height;
        }
        if (cfg.bias) skin = checks::read_skin(img.image);
      } catch (const media::ImageError& e) {
        decode_error = e.what();
        hashes.reset();
      }
    }
    if (cfg.copyright)
      add(o, image ? copyright_verdict(s, hashes, decode_error, *cfg.copyright, registry)
                   : not_an_image("copyright", s, content));
    if (cfg.terms) add(o, terms_verdict(s, *cfg.terms, text ? read_text(s.path) : std::string()));
    if (cfg.licence && s.lineage_known) add(o, licence_verdict(s, *cfg.licence));
    for (CheckVerdict& v : o.verdicts) v.sha256 = s.sha256;
    if (cfg.bias && image) {
      checks::BiasItem item;
      item.id = s.sha256;
      item.skin = skin;
      item.prompt = s.prompt.value_or("");
      item.caption_tags = caption_tags(s.captions);
      batch.push_back(std::move(item));
    } else if (cfg.bias) {
      not_images.push_back({{"file", s.name},
                            {"sha256", s.sha256},
                            {"content", content.media_type},
                            {"reason", not_image_reason(s, content, "the bias audit")}});
    }
    // Nothing applied to it (a file that is not an image, under the bias audit
    // alone): it was not checked, which is not a pass.
    if (o.verdicts.empty() && !(cfg.bias && image)) {
      o.worst = "not_checked";
      o.reason = image ? s.name + ": no check that was asked for applies to it"
                       : not_image_reason(s, content, "the checks asked for");
    }
  }
  if (cfg.bias) {
    out.bias_report = checks::bias_report(batch, *cfg.bias);
    if (!not_images.empty()) out.bias_report["not_images"] = not_images;
    out.bias_chart = checks::bias_chart_png(out.bias_report);
    CheckVerdict b = verdict("bias", out.bias_report.value("verdict", "warn"), out.bias_report);
    if (out.bias_report.contains("score") && out.bias_report["score"].is_number())
      b.score = out.bias_report["score"].get<double>();
    out.bias = std::move(b);
  }
  return out;
}

}  // namespace atelier
