// The run report: one self-contained HTML page about a run, to mail to a reviewer
// (`atelier report RUN` and the `report` job kind). Invariants: the page has
// inline CSS only, no script and no external URL (thumbnails are data: URIs of the
// stored PNG/JPEG bytes themselves); every string that came from a spec, params,
// a prompt, an error or a file name passes through html_escape; its size is
// bounded (gallery capped at kReportMaxImages, thumbnails at kReportMaxThumbBytes
// each and kReportThumbBudget in all). It only reads the store and the files.
// Each image's inputs come from lineage.h's direct_inputs, as export manifests'
// do, so the two documents describe a model or an imported file alike.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "orchestrator/asset_store.h"
#include "orchestrator/html_text.h"
#include "orchestrator/store.h"

namespace atelier::provenance {

inline constexpr size_t kReportMaxImages = 500;
inline constexpr int64_t kReportMaxThumbBytes = 256 * 1024;
inline constexpr int64_t kReportThumbBudget = 48LL * 1024 * 1024;

// Throws NotFound for a run the store does not have.
std::string run_report_html(Store& store, const AssetStore& files, int64_t run_id);

}  // namespace atelier::provenance
