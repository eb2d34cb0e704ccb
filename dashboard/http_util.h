// Request text handling for the dashboard, independent of Poco so it can be
// tested alone: percent-decoding that refuses what could escape a path
// segment, query strings, form bodies, path segments, and the few content
// types the dashboard serves.
//
// Invariant: a decoded path segment handed to a route never contains '/',
// '\\' or NUL and is never "." or ".." (split_path refuses the path instead),
// so no route can be steered outside what it names.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atelier::dashboard {

// %XX and (when plus_is_space) '+' decoded; nullopt for a malformed escape or
// an encoded NUL.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space = false);
std::string percent_encode(std::string_view s);
// `attachment` with the file name in both RFC 6266 forms: an ASCII fallback with
// every byte outside [A-Za-z0-9._-] as '_', and filename* percent-encoded, so no
// byte of it can end the header or start another.
std::string attachment_disposition(std::string_view file_name);

// "a=1&b=x%20y" -> {a: 1, b: "x y"}; a repeated key keeps its first value;
// malformed pairs are dropped.
std::map<std::string, std::string> parse_query(std::string_view query);

// "/runs/r12/" -> {"runs", "r12"}; nullopt when a segment decodes to something
// that could leave its place (see the invariant above).
std::optional<std::vector<std::string>> split_path(std::string_view path);

bool is_sha256_hex(std::string_view s);

// A relative path on this site (starts with one '/', no scheme, no "//"): the
// only redirect targets forms may name.
bool is_local_path(std::string_view s);

// A cookie value from a Cookie header ("a=1; b=2").
std::optional<std::string> cookie_value(std::string_view header, std::string_view name);

}  // namespace atelier::dashboard
