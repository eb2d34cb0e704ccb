#include "job_context.h"

#include "media/hash/stored_hashes.h"
#include "orchestrator/asset_hashes.h"

#include <spdlog/sinks/basic_file_sink.h>

#include <algorithm>
#include <filesystem>

namespace atelier {

JobContext::JobContext(const Lease& lease, AssetStore& assets, JobSignals& signals,
                       const Clock& clock, Store& store, const WorkspaceConfig& config)
    : lease_(lease),
      assets_(assets),
      signals_(signals),
      clock_(clock),
      config_(config),
      kind_store_(store, assets, config, lease_) {}

JobContext::~JobContext() {
  if (logger_) logger_->flush();
}

void JobSignals::set_progress(double fraction, const std::string& message) {
  std::lock_guard lk(mu_);
  fraction_ = std::clamp(fraction, 0.0, 1.0);
  message_ = message;
  dirty_ = true;
}

std::optional<std::pair<double, std::string>> JobSignals::take_progress() {
  std::lock_guard lk(mu_);
  if (!dirty_) return std::nullopt;
  dirty_ = false;
  return std::make_pair(fraction_, message_);
}

void JobContext::progress(double fraction, const std::string& message) {
  signals_.set_progress(fraction, message);
}

bool JobContext::cancelled() const {
  try {
    check_cancelled();
    return false;
  } catch (const JobStopped&) {
    return true;
  }
}

void JobContext::check_cancelled() const {
  using R = JobStopped::Reason;
  if (signals_.lease_lost)
    throw JobStopped(R::lease_lost, "lease lost: another worker took this job over");
  if (signals_.cancel) throw JobStopped(R::cancelled, "cancelled");
  const int64_t t = clock_.now_ms();
  if (signals_.stop_at_ms) {
    const int64_t stop_at = signals_.stop_at_ms->load();
    if (stop_at > 0 && t >= stop_at + signals_.drain_grace_ms)
      throw JobStopped(R::draining, "worker is shutting down; job released");
  }
  const int64_t deadline = signals_.deadline_ms.load();
  if (deadline > 0 && t >= deadline)
    throw JobStopped(R::timeout, "timed out after " + std::to_string(lease_.timeout_ms) + " ms");
}

namespace {
OutputAsset output_of(const StoredFile& f, const std::string& name, const std::string& media_type,
                      const std::string& ext) {
  OutputAsset a;
  a.sha256 = f.sha256;
  a.media_type = media_type;
  a.ext = ext;
  a.bytes = f.bytes;
  a.name = name;
  return a;
}

// Every PNG output is hashed once, when it is stored (issue 7's checks and
// tracing rely on every image asset having its hashes).
void set_image_hashes(OutputAsset& out, const std::optional<media::StoredImageHashes>& h) {
  if (!h) return;
  out.hashes = to_asset_hashes(h->hashes);
  out.width = h->width;
  out.height = h->height;
}
}  // namespace

OutputAsset& JobContext::write_output(const std::string& name, std::string_view data,
                                      const std::string& media_type, const std::string& ext) {
  outputs_.push_back(output_of(assets_.put_bytes(data, ext), name, media_type, ext));
  OutputAsset& out = outputs_.back();
  if (media_type == "image/png") {
    const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
    set_image_hashes(out, media::hash_png_bytes({bytes, data.size()}, name));
  }
  return out;
}

OutputAsset& JobContext::write_output_file(const std::string& name,
                                           const std::filesystem::path& file,
                                           const std::string& media_type, const std::string& ext) {
  outputs_.push_back(output_of(assets_.put_file(file, ext), name, media_type, ext));
  OutputAsset& out = outputs_.back();
  if (media_type == "image/png") set_image_hashes(out, media::hash_png_file(file));
  return out;
}

OutputAsset& JobContext::forward_output(const AssetRow& asset, const std::string& name) {
  OutputAsset out;
  out.sha256 = asset.sha256;
  out.media_type = asset.media_type;
  out.ext = asset.ext;
  out.bytes = asset.bytes;
  out.name = name;
  out.width = asset.width;
  out.height = asset.height;
  out.hashes = asset.hashes;
  outputs_.push_back(std::move(out));
  return outputs_.back();
}

void JobContext::add_input(const std::string& sha256, const std::string& role) {
  inputs_.push_back({sha256, role});
}

spdlog::logger& JobContext::log() {
  if (!logger_) {
    std::filesystem::create_directories(std::filesystem::path(lease_.log_path).parent_path());
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(lease_.log_path);
    logger_ = std::make_shared<spdlog::logger>("j" + std::to_string(lease_.job_id), sink);
    logger_->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
    logger_->flush_on(spdlog::level::info);
  }
  return *logger_;
}

}  // namespace atelier
