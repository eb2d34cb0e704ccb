// JSON string quoting without building a json value: the escapes Python's
// json.dumps(s, ensure_ascii=False) writes (A1111 infotext needs exactly those),
// bytes >= 0x80 passed through unchanged. Callers that may hold invalid UTF-8
// check it first: this writes whatever bytes it is given.
#pragma once

#include <string>
#include <string_view>

namespace atelier {

inline void append_json_quoted(std::string& out, std::string_view s) {
  static constexpr char digits[] = "0123456789abcdef";
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(digits[c >> 4]);
          out.push_back(digits[c & 15]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

inline std::string json_quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  append_json_quoted(out, s);
  return out;
}

}  // namespace atelier
