// CLIP's tokenizer against the upstream tokenizer's own ids for 53 prompts,
// 8 ftfy-sensitive ones and the special-token case (token_cases.json beside
// the real vocabulary in ../shared/external-refs/clip-tokenizer; those tests
// skip, naming the folder, when it is absent: the vocabulary is never
// committed). The clean-up rules that need no vocabulary are tested on their
// own, against Python's html.unescape and ftfy's documented behaviour.
#include <gtest/gtest.h>
#include <zlib.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ml/sd/clip_text_cleanup.h"
#include "ml/sd/clip_tokenizer.h"
#include "ml/sd/html_entities.h"
#include "ml/sd/utf8.h"

using namespace atelier::ml::sd;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path refs_dir() {
  return fs::path(ATELIER_EXTERNAL_REFS) / "clip-tokenizer";
}
fs::path vocab_gz() {
  return refs_dir() / "bpe_simple_vocab_16e6.txt.gz";
}

bool have_refs() {
  return fs::exists(vocab_gz()) && fs::exists(refs_dir() / "token_cases.json");
}

#define SKIP_WITHOUT_CLIP_REFS() \
  if (!have_refs())              \
  GTEST_SKIP() << "needs " << refs_dir() << " (the CLIP vocabulary and token_cases.json)"

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const json& cases() {
  static const json j = json::parse(read(refs_dir() / "token_cases.json"));
  return j;
}

const ClipTokenizer& tokenizer() {
  static const auto tok = load_clip_tokenizer(refs_dir());
  return *tok;
}

std::vector<int64_t> ids_of(const json& j) {
  return j.get<std::vector<int64_t>>();
}

// A scratch folder removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("atelier-clip-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string gunzip_for_test(const fs::path& gz) {
  gzFile f = gzopen(gz.c_str(), "rb");
  std::string out;
  char buf[1 << 16];
  for (int n; (n = gzread(f, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  gzclose(f);
  return out;
}

void expect_error(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning " << fragment;
  } catch (const TokenizerError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(ClipTokenizer, EveryReferenceCaseGivesUpstreamIdsTokensAndBothPaddedRows) {
  SKIP_WITHOUT_CLIP_REFS();
  const ClipTokenizer& tok = tokenizer();
  EXPECT_EQ(tok.bos(), cases()["sot_id"].get<int64_t>());
  EXPECT_EQ(tok.eos(), cases()["eot_id"].get<int64_t>());
  EXPECT_EQ(tok.vocab_size(), cases()["vocab_size"].get<int64_t>());
  EXPECT_EQ(tok.pad_id(Padding::zero), 0);
  EXPECT_EQ(tok.pad_id(Padding::end_token), tok.eos());
  ASSERT_EQ(cases()["cases"].size(), 53u);
  for (const json& c : cases()["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const std::string text = c["text"];
    std::vector<int64_t> ids = tok.encode(text);
    EXPECT_EQ(ids, ids_of(c["ids"]));
    std::vector<std::string> tokens;
    for (int64_t id : ids) tokens.push_back(tok.token(id));
    EXPECT_EQ(tokens, c["tokens"].get<std::vector<std::string>>());
    EXPECT_EQ(tok.frame(ids, Padding::zero), ids_of(c["padded_77"]["pad_0"]));
    EXPECT_EQ(tok.frame(ids, Padding::end_token), ids_of(c["padded_77"]["pad_49407"]));
  }
}

TEST(ClipTokenizer, BatchRowsAreContiguousWithTheEndTokenPositionOfEachRow) {
  SKIP_WITHOUT_CLIP_REFS();
  std::vector<std::string> texts;
  std::vector<int64_t> expected, eot;
  for (const json& c : cases()["cases"]) {
    texts.push_back(c["text"]);
    auto row = ids_of(c["padded_77"]["pad_0"]);
    expected.insert(expected.end(), row.begin(), row.end());
    eot.push_back(c["eot_index"]);
  }
  TokenRows rows = tokenizer().tokenize(texts, Padding::zero);
  EXPECT_EQ(rows.batch, static_cast<int64_t>(texts.size()));
  EXPECT_EQ(rows.length, 77);
  EXPECT_EQ(rows.ids, expected);
  EXPECT_EQ(rows.end_index, eot);
}

TEST(ClipTokenizer, FtfySensitiveCasesGiveTheIdsOfUpstreamWithFtfy) {
  SKIP_WITHOUT_CLIP_REFS();
  ASSERT_EQ(cases()["ftfy_sensitive_cases"].size(), 8u);
  for (const json& c : cases()["ftfy_sensitive_cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    EXPECT_EQ(fix_text(c["text"].get<std::string>()), c["text_after_ftfy"].get<std::string>());
    EXPECT_EQ(tokenizer().encode(c["text"].get<std::string>()), ids_of(c["ids"]));
    EXPECT_EQ(tokenizer().frame(ids_of(c["ids"]), Padding::zero), ids_of(c["padded_77"]["pad_0"]));
  }
}

TEST(ClipTokenizer, LiteralSpecialTokenNamesFollowOpenAIOrStayTextWhenDisabled) {
  SKIP_WITHOUT_CLIP_REFS();
  const json& c = cases()["special_literal_cases"][0];
  const std::string text = c["text"];  // "a <|endoftext|> b <end_of_text> c"
  EXPECT_EQ(tokenizer().encode(text), ids_of(c["ids_openai_clip"]));
  // Both spellings as plain text: the first as open_clip reads it, the second
  // as OpenAI's tokenizer does (neither treats its other spelling specially).
  auto plain = load_clip_tokenizer(refs_dir(), /*special_literals=*/false);
  std::vector<int64_t> oc = ids_of(c["ids_open_clip"]), oa = ids_of(c["ids_openai_clip"]);
  std::vector<int64_t> expected(oc.begin(), oc.begin() + 8);  // a <|endoftext|> b
  expected.insert(expected.end(), oa.begin() + 3, oa.end());  // <end_of_text> c
  EXPECT_EQ(plain->encode(text), expected);
}

TEST(ClipTokenizer, HuggingFaceFolderGivesTheSameIds) {
  SKIP_WITHOUT_CLIP_REFS();
  TempDir dir;
  const ClipTokenizer& gz = tokenizer();
  json vocab = json::object();
  for (int64_t id = 0; id < gz.vocab_size(); ++id) vocab[gz.token(id)] = id;
  std::ofstream(dir.path / "vocab.json") << vocab.dump();
  // merges.txt as Hugging Face writes it: a version line, then the merges
  // (the .gz's header line swapped for HF's; the unused tail dropped).
  std::string text = gunzip_for_test(vocab_gz());
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);
  std::ofstream merges(dir.path / "merges.txt");
  merges << "#version: 0.2\n";
  for (int i = 0; i < 48894 && std::getline(lines, line); ++i) merges << line << "\n";
  merges.close();

  auto hf = load_clip_tokenizer(dir.path);
  EXPECT_EQ(hf->source(), dir.path.string());
  EXPECT_EQ(hf->bos(), gz.bos());
  EXPECT_EQ(hf->eos(), gz.eos());
  for (const json& c : cases()["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    EXPECT_EQ(hf->encode(c["text"].get<std::string>()), ids_of(c["ids"]));
  }
}

TEST(ClipTokenizer, SpecialIdsComeFromTheVocabulary) {
  // A vocabulary of bytes, one merge and the special tokens at ids of its own.
  std::unordered_map<std::string, int64_t> vocab;
  int64_t next = 0;
  for (int b = 0; b < 256; ++b) {
    std::string s;
    append_utf8(s, clip_byte_char(static_cast<uint8_t>(b)));
    vocab[s] = next++;
    vocab[s + "</w>"] = next++;
  }
  vocab["hi</w>"] = next++;
  vocab["<|endoftext|>"] = 7000;
  vocab["<|startoftext|>"] = 7001;
  ClipTokenizer tok({{"h", "i</w>"}}, vocab, "test");
  EXPECT_EQ(tok.bos(), 7001);
  EXPECT_EQ(tok.eos(), 7000);
  EXPECT_EQ(tok.encode("Hi"), std::vector<int64_t>{vocab["hi</w>"]});
  EXPECT_EQ(tok.frame({5}, Padding::end_token, 5),
            (std::vector<int64_t>{7001, 5, 7000, 7000, 7000}));
  vocab.erase("<|startoftext|>");
  expect_error(
      [&] {
        ClipTokenizer({{"h", "i</w>"}}, vocab, "test");
      },
      "test: \"<|startoftext|>\" (start of text) is not in the vocabulary");
}

TEST(ClipTokenizer, DecodeGivesTextBackForMessages) {
  SKIP_WITHOUT_CLIP_REFS();
  const ClipTokenizer& tok = tokenizer();
  EXPECT_EQ(tok.decode(tok.encode("A photo of a CAT, café 🍎")), "a photo of a cat , café 🍎 ");
  EXPECT_EQ(tok.decode({tok.bos(), 320, tok.eos()}), "<|startoftext|>a <|endoftext|>");
}

TEST(ClipTokenizer, ByteCharactersAreCLIPsMapping) {
  EXPECT_EQ(clip_byte_char('!'), U'!');
  EXPECT_EQ(clip_byte_char(0x00), 0x100u);
  EXPECT_EQ(clip_byte_char(0x20), 0x120u);
  EXPECT_EQ(clip_byte_char(0x7F), 0x121u);
  EXPECT_EQ(clip_byte_char(0xAD), 0x143u);
  EXPECT_EQ(clip_byte_char(0xFF), 0xFFu);
}

TEST(ClipTokenizer, MissingFolderOrFilesAreNamedInTheError) {
  expect_error([] { load_clip_tokenizer("/nonexistent/clip"); },
               "CLIP tokenizer folder /nonexistent/clip does not exist");
  TempDir dir;
  expect_error([&] { load_clip_tokenizer(dir.path); },
               dir.path.string() +
                   ": no CLIP tokenizer files (looked for bpe_simple_vocab_16e6.txt.gz, or "
                   "vocab.json with merges.txt)");
  std::ofstream(dir.path / "vocab.json") << "{}";
  expect_error([&] { load_clip_tokenizer(dir.path); },
               dir.path.string() + ": has vocab.json but not merges.txt");
  expect_error([&] { load_clip_tokenizer_bpe_gz(dir.path / "none.txt.gz"); },
               (dir.path / "none.txt.gz").string() + ": no such file");
}

TEST(ClipTokenizer, CorruptFilesAreNamedInTheError) {
  TempDir dir;
  const fs::path gz = dir.path / "bpe_simple_vocab_16e6.txt.gz";
  std::ofstream(gz) << "this is not gzip data at all";
  expect_error([&] { load_clip_tokenizer(dir.path); }, gz.string() + ": not a gzip file");

  // A gzip stream cut short, and one with damaged data.
  std::string packed;
  {
    std::string text = "\"header#version: 0.2\ni n\nt h\n";
    for (int i = 0; i < 2000; ++i) text += "a" + std::to_string(i) + " b\n";
    uLongf cap = compressBound(text.size()) + 64;
    packed.resize(cap);
    z_stream z{};
    deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    z.next_in = reinterpret_cast<Bytef*>(text.data());
    z.avail_in = static_cast<uInt>(text.size());
    z.next_out = reinterpret_cast<Bytef*>(packed.data());
    z.avail_out = static_cast<uInt>(cap);
    deflate(&z, Z_FINISH);
    packed.resize(z.total_out);
    deflateEnd(&z);
  }
  std::ofstream(gz, std::ios::binary | std::ios::trunc) << packed.substr(0, packed.size() / 2);
  expect_error([&] { load_clip_tokenizer(dir.path); }, gz.string() + ": corrupt gzip data");
  std::string damaged = packed;
  for (size_t i = 20; i < damaged.size() - 8; i += 7) damaged[i] = static_cast<char>(~damaged[i]);
  std::ofstream(gz, std::ios::binary | std::ios::trunc) << damaged;
  expect_error([&] { load_clip_tokenizer(dir.path); }, gz.string() + ": corrupt gzip data");

  // Well-formed files whose content is wrong.
  TempDir hf;
  std::ofstream(hf.path / "vocab.json") << "{\"a\": 1,";
  std::ofstream(hf.path / "merges.txt") << "#version: 0.2\na b\n";
  expect_error([&] { load_clip_tokenizer(hf.path); },
               (hf.path / "vocab.json").string() + ": not valid JSON");
  std::ofstream(hf.path / "vocab.json", std::ios::trunc) << "{\"a\": 1}";
  std::ofstream(hf.path / "merges.txt", std::ios::trunc) << "#version: 0.2\na b\nabc\n";
  expect_error(
      [&] { load_clip_tokenizer(hf.path); },
      (hf.path / "merges.txt").string() + ": line 3: expected two symbols separated by one space");
  std::ofstream(hf.path / "merges.txt", std::ios::trunc) << "#version: 0.2\na b\n";
  expect_error([&] { load_clip_tokenizer(hf.path); }, "is not in the vocabulary");
}

// Python's html.unescape, which CLIP's clean-up runs twice.
TEST(ClipTextCleanup, HtmlUnescapeFollowsPython) {
  EXPECT_EQ(html_unescape("fish &amp;amp; chips"), "fish &amp; chips");
  EXPECT_EQ(html_unescape("&lt;b&gt; &quot;q&quot; &apos;"), "<b> \"q\" '");
  EXPECT_EQ(html_unescape("&ampx &lt &copy2024"), "&x < ©2024");  // legacy names need no ';'
  EXPECT_EQ(html_unescape("&#x41;&#66;&#x1F34E;"), "AB🍎");
  EXPECT_EQ(html_unescape("&#128;&#0;&#xD800;&#1;x"), "€\uFFFD\uFFFDx");
  EXPECT_EQ(html_unescape("&nosuch; & &; &#; &#xZ;"), "&nosuch; & &; &#; &#xZ;");
  EXPECT_EQ(html_unescape("&eacute;&Eacute;&AMP;&hellip;"), "éÉ&…");
  EXPECT_EQ(html_unescape_complete_only("&amp &amp; &#65 &#65;"), "&amp & &#65 A");
}

// ftfy's fixes, with the examples of its documentation.
TEST(ClipTextCleanup, FtfyFixesThatPromptsMeet) {
  EXPECT_EQ(fix_text("\x1b[31mred\x1b[0m apple"), "red apple");
  EXPECT_EQ(fix_text("ﬂuﬃeﬆ"), "fluffiest");
  EXPECT_EQ(fix_text("schÃ¶n"), "schön");
  EXPECT_EQ(fix_text("â€œhiâ€\u009d"), "\"hi\"");  // “hi” as UTF-8 read as Windows-1252
  EXPECT_EQ(fix_text("a\r\nb\rc\u2028d"), "a\nb\nc\nd");
  EXPECT_EQ(fix_text("a\u200b\ufeffb\x7f\x01"
                     "c"),
            "a\u200bbc");  // ZWSP is not a control character
  EXPECT_EQ(fix_text("\uff21\uff22\u3000\uff11\uff0c"), "AB 1,");
  EXPECT_EQ(fix_text("x\u0085y"), "x\u2026y");  // C1 read as Windows-1252
  // Entities decode until stable, unless a line (or one before it) has '<'.
  EXPECT_EQ(fix_text("&amp;amp;lt;"), "<");
  EXPECT_EQ(fix_text("&amp;\n<b>&amp;"), "&\n<b>&amp;");
  // Accented capitals next to symbols are not taken for mojibake.
  EXPECT_EQ(fix_text("CAFÉ™ É…"), "CAFÉ™ É…");
}

TEST(ClipTextCleanup, WhitespaceCollapsesAndTextIsLowerCased) {
  EXPECT_EQ(clip_clean_text("  A\t\tRed\n\nAPPLE \u00a0 "), "a red apple");
  EXPECT_EQ(clip_clean_text("\u00c9COLE \u216b \u0130"), "\u00e9cole \u217b i\u0307");
  EXPECT_EQ(clip_clean_text("fish &amp;amp;amp; chips"), "fish & chips");
  EXPECT_EQ(clip_clean_text("<b>&amp;amp;</b>"), "<b>&</b>");  // HTML: only the two plain passes
  EXPECT_EQ(clip_clean_text(""), "");
}

TEST(ClipTokenizer, MalformedInputNeverFailsAndGivesVocabularyIds) {
  SKIP_WITHOUT_CLIP_REFS();
  const ClipTokenizer& tok = tokenizer();
  const std::string inputs[] = {
      std::string("a\0b", 3),         "\xff\xfe broken \xc3",
      "\xed\xa0\x80 surrogate",       "&#99999999999999999999; &#x",
      "\x1b[ unterminated \x1b[3",    std::string(3000, 'a'),
      "<|startoftext|><|endoftext|>", "\xf0\x9f\x8f\xb4\xf3\xa0\x81\xa7 tag"};
  for (const std::string& text : inputs) {
    for (int64_t id : tok.encode(text)) {
      EXPECT_GE(id, 0);
      EXPECT_LT(id, tok.vocab_size());
    }
  }
  EXPECT_EQ(tok.encode(std::string("\xff")), tok.encode("\xef\xbf\xbd"));  // as U+FFFD
}
