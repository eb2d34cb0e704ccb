// Safetensors reader, writer and half-precision conversions (ml/safetensors.h).
// Every fixture is built here, byte by byte, so each test shows exactly what
// the file holds. A hostile file must be refused with a FormatError whose
// message starts with the source name and names what is wrong; anything else
// escaping the reader is a failure.
#include "ml/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

using namespace atelier::ml;
namespace fs = std::filesystem;

namespace {

constexpr const char* kSource = "bad.safetensors";

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

template <typename T>
std::vector<std::byte> bytes_of(const std::vector<T>& v) {
  const auto* p = reinterpret_cast<const std::byte*>(v.data());
  return {p, p + v.size() * sizeof(T)};
}

std::vector<std::byte> le64(std::uint64_t n) {
  std::vector<std::byte> out;
  for (int i = 0; i < 8; ++i, n >>= 8) out.push_back(static_cast<std::byte>(n & 0xFF));
  return out;
}

// A file: the header's length (its real length unless `declared` says
// otherwise), the header, then `data_len` bytes of data.
std::vector<std::byte> make_file(std::string_view header, std::size_t data_len = 0,
                                 std::optional<std::uint64_t> declared = std::nullopt) {
  std::vector<std::byte> out = le64(declared.value_or(header.size()));
  const auto h = bytes_of(header);
  out.insert(out.end(), h.begin(), h.end());
  for (std::size_t i = 0; i < data_len; ++i) out.push_back(static_cast<std::byte>(i * 7 + 1));
  return out;
}

// One F32 [2, 2] tensor "a" with its 16 bytes: the valid base that the hostile
// cases below vary one thing at a time.
constexpr std::string_view kOneTensor =
    R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";

::testing::AssertionResult Rejected(std::vector<std::byte> bytes, std::string_view phrase,
                                    const ReadLimits& limits = {}) {
  try {
    const SafetensorsFile f = SafetensorsFile::parse(std::move(bytes), kSource, limits);
    return ::testing::AssertionFailure() << "accepted, with " << f.tensors().size() << " tensors";
  } catch (const FormatError& e) {
    const std::string msg = e.what();
    if (!msg.starts_with(std::string(kSource) + ": "))
      return ::testing::AssertionFailure() << "message lacks the source name: " << msg;
    if (msg.find(phrase) == std::string::npos)
      return ::testing::AssertionFailure()
             << "message \"" << msg << "\" lacks \"" << phrase << "\"";
    return ::testing::AssertionSuccess() << msg;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "escaped as " << typeid(e).name() << ": " << e.what();
  }
}

std::string text_of(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("atelier_st_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// A tensor of every dtype, plus a scalar and an empty one, with distinct data.
struct Sample {
  std::vector<double> f64 = {1.5, -2.25, 1e300};
  std::vector<float> f32 = {1.0f, -0.5f, 3.25f, 1e-30f, 7.0f, 8.0f};
  std::vector<std::uint16_t> f16 = {float_to_half(1.0f), float_to_half(-2.5f),
                                    float_to_half(65504)};
  std::vector<std::uint16_t> bf16 = {float_to_bf16(0.15625f), float_to_bf16(-3.0f)};
  std::vector<std::int64_t> i64 = {-1, std::numeric_limits<std::int64_t>::max()};
  std::vector<std::int32_t> i32 = {42};
  std::vector<std::int16_t> i16 = {-7, 7, 0, 1};
  std::vector<std::int8_t> i8 = {-128, 127};
  std::vector<std::uint8_t> u8 = {0, 255, 9};
  std::vector<std::uint8_t> boolean = {1, 0, 1, 1};
  std::vector<std::byte> f64b = bytes_of(f64), f32b = bytes_of(f32), f16b = bytes_of(f16),
                         bf16b = bytes_of(bf16), i64b = bytes_of(i64), i32b = bytes_of(i32),
                         i16b = bytes_of(i16), i8b = bytes_of(i8), u8b = bytes_of(u8),
                         boolb = bytes_of(boolean);

  std::vector<TensorToWrite> tensors() const {
    return {
        {"model.f32", DType::F32, {2, 3}, f32b},
        {"model.f64", DType::F64, {3}, f64b},
        {"half", DType::F16, {3}, f16b},
        {"brain", DType::BF16, {1, 2}, bf16b},
        {"i64", DType::I64, {2}, i64b},
        {"scalar.i32", DType::I32, {}, i32b},
        {"i16", DType::I16, {2, 2}, i16b},
        {"i8", DType::I8, {2}, i8b},
        {"u8", DType::U8, {3}, u8b},
        {"mask", DType::BOOL, {4}, boolb},
        {"empty", DType::F32, {0, 5}, {}},
    };
  }
};

const std::map<std::string, std::string> kMetadata = {
    {"format", "pt"}, {"atelier.config", R"({"image_size":32})"}, {"note", "ünïcode ✓"}};

}  // namespace

// ---- Round trips and the writer's layout ----

using SafetensorsRoundTrip = TempDir;

TEST_F(SafetensorsRoundTrip, EveryDtypeWithMetadataSurvivesWriteAndRead) {
  const Sample s;
  const fs::path path = dir_ / "model.safetensors";
  write_safetensors(path, s.tensors(), kMetadata);
  const SafetensorsFile f = SafetensorsFile::read(path);

  EXPECT_EQ(f.metadata(), kMetadata);
  ASSERT_EQ(f.tensors().size(), s.tensors().size());
  for (const TensorToWrite& want : s.tensors()) {
    SCOPED_TRACE(want.name);
    const TensorInfo* got = f.find(want.name);
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(got->name, want.name);
    EXPECT_EQ(got->dtype, want.dtype);
    EXPECT_EQ(got->shape, want.shape);
    const auto data = f.data(*got);
    ASSERT_EQ(data.size(), want.bytes.size());
    EXPECT_TRUE(std::equal(data.begin(), data.end(), want.bytes.begin()));
  }
  EXPECT_EQ(f.find("absent"), nullptr);
  EXPECT_EQ(f.find(""), nullptr);

  // The writer lays tensors out in name order, so offset order is name order.
  for (std::size_t i = 1; i < f.tensors().size(); ++i) {
    EXPECT_LT(f.tensors()[i - 1].name, f.tensors()[i].name);
    EXPECT_EQ(f.tensors()[i - 1].end, f.tensors()[i].begin);
  }
  // Values read back as written.
  float v;
  std::memcpy(&v, f.data(*f.find("model.f32")).data() + 8, sizeof v);
  EXPECT_EQ(v, 3.25f);
  std::uint16_t h;
  std::memcpy(&h, f.data(*f.find("half")).data() + 2, sizeof h);
  EXPECT_EQ(half_to_float(h), -2.5f);
  std::memcpy(&h, f.data(*f.find("brain")).data(), sizeof h);
  EXPECT_EQ(bf16_to_float(h), 0.15625f);
}

// A multi-gigabyte checkpoint's names, shapes and metadata without its data;
// a file cut short is still refused from the header's offsets alone.
TEST_F(SafetensorsRoundTrip, TheHeaderAloneGivesNamesShapesAndMetadata) {
  const Sample s;
  const fs::path path = dir_ / "model.safetensors";
  write_safetensors(path, s.tensors(), kMetadata);
  const SafetensorsFile full = SafetensorsFile::read(path);
  const SafetensorsFile head = SafetensorsFile::read_header(path);
  EXPECT_EQ(head.metadata(), kMetadata);
  ASSERT_EQ(head.tensors().size(), full.tensors().size());
  for (std::size_t i = 0; i < head.tensors().size(); ++i) {
    EXPECT_EQ(head.tensors()[i].name, full.tensors()[i].name);
    EXPECT_EQ(head.tensors()[i].shape, full.tensors()[i].shape);
  }
  EXPECT_THROW(head.data(head.tensors().front()), std::logic_error);
  fs::resize_file(path, fs::file_size(path) - 1);
  try {
    SafetensorsFile::read_header(path);
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("the file may be truncated"), std::string::npos)
        << e.what();
  }
}

TEST_F(SafetensorsRoundTrip, HeaderIsPaddedWithSpacesToAMultipleOfEight) {
  for (const std::string name :
       {"a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh"}) {
    SCOPED_TRACE(name);
    const std::vector<float> one = {1.0f};
    const auto bytes = serialize_safetensors({{name, DType::F32, {1}, bytes_of(one)}}, {});
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | std::to_integer<std::uint64_t>(bytes[i]);
    EXPECT_EQ(n % 8, 0u);
    const std::string header = text_of(std::span(bytes).subspan(8, n));
    EXPECT_EQ(header.front(), '{');
    const auto last = header.find_last_not_of(' ');
    EXPECT_EQ(header[last], '}');
    EXPECT_LT(header.size() - last - 1, 8u);
    EXPECT_EQ(bytes.size(), 8 + n + 4);
    EXPECT_NO_THROW(SafetensorsFile::parse(bytes, "padded"));
  }
}

TEST_F(SafetensorsRoundTrip, NoTensorsAndNoMetadata) {
  const auto bytes = serialize_safetensors({}, {});
  EXPECT_EQ(text_of(std::span(bytes).subspan(8)), "{}      ");
  const SafetensorsFile f = SafetensorsFile::parse(bytes, "empty");
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_TRUE(f.metadata().empty());
}

TEST(SafetensorsWriter, HeaderMatchesTheReferenceLayout) {
  const std::vector<float> a = {1.0f, 2.0f};
  const std::vector<std::uint16_t> b = {0x3C00};
  const auto bytes = serialize_safetensors(
      {{"b", DType::F16, {1}, bytes_of(b)}, {"a", DType::F32, {2}, bytes_of(a)}},
      {{"format", "pt"}});
  const std::string want =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"F16","shape":[1],"data_offsets":[8,10]}})";
  const std::string padded = want + std::string((8 - want.size() % 8) % 8, ' ');
  std::vector<std::byte> expected = le64(padded.size());
  for (auto x : {bytes_of(padded), bytes_of(a), bytes_of(b)})
    expected.insert(expected.end(), x.begin(), x.end());
  EXPECT_EQ(bytes, expected);
}

TEST(SafetensorsWriter, LeavesMetadataOutWhenEmpty) {
  const std::vector<std::uint8_t> u = {1};
  const auto bytes = serialize_safetensors({{"u", DType::U8, {1}, bytes_of(u)}}, {});
  EXPECT_EQ(text_of(bytes).find("__metadata__"), std::string::npos);
}

TEST(SafetensorsWriter, SameInputsGiveIdenticalBytes) {
  const Sample s;
  auto reversed = s.tensors();
  std::reverse(reversed.begin(), reversed.end());
  const auto first = serialize_safetensors(s.tensors(), kMetadata);
  EXPECT_EQ(first, serialize_safetensors(s.tensors(), kMetadata));
  EXPECT_EQ(first, serialize_safetensors(reversed, kMetadata));
}

TEST(SafetensorsWriter, RefusesTensorsThatCannotBeWritten) {
  const std::vector<float> four = {1, 2, 3, 4};
  const auto b = bytes_of(four);
  EXPECT_THROW(serialize_safetensors({{"a", DType::F32, {2, 3}, b}}, {}), std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({{"a", DType::F16, {2, 2}, b}}, {}), std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({{"a", DType::F32, {-2, -2}, b}}, {}), std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({{"a", DType::F32, {4}, b}, {"a", DType::F32, {4}, b}}, {}),
               std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({{"__metadata__", DType::F32, {4}, b}}, {}),
               std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({{"bad\xff", DType::F32, {4}, b}}, {}), std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({}, {{"k", "bad\xc0\x80"}}), std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({{"a", DType::F32, {1ll << 62, 8}, b}}, {}),
               std::invalid_argument);
}

using SafetensorsWriteFile = TempDir;

TEST_F(SafetensorsWriteFile, ReplacesTheFileAndLeavesNoTemporaryBehind) {
  const std::vector<float> v1 = {1}, v2 = {2, 3};
  const fs::path path = dir_ / "m.safetensors";
  write_safetensors(path, {{"x", DType::F32, {1}, bytes_of(v1)}}, {});
  write_safetensors(path, {{"x", DType::F32, {2}, bytes_of(v2)}}, {{"v", "2"}});
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(dir_)) entries.push_back(e.path().filename());
  EXPECT_EQ(entries, std::vector<fs::path>{"m.safetensors"});
  const SafetensorsFile f = SafetensorsFile::read(path);
  EXPECT_EQ(f.find("x")->shape, std::vector<int64_t>{2});
  EXPECT_EQ(f.metadata().at("v"), "2");
}

TEST_F(SafetensorsWriteFile, MissingFolderIsASystemError) {
  const std::vector<float> v = {1};
  EXPECT_THROW(write_safetensors(dir_ / "no" / "such" / "m.safetensors",
                                 {{"x", DType::F32, {1}, bytes_of(v)}}, {}),
               std::system_error);
}

// ---- A file as the Python library writes it ----

TEST(SafetensorsReference, ParsesAFileInThePythonLibraryLayout) {
  // The reference writer orders data by dtype size, largest first, so offset
  // order ("b", then "a") differs from name order; it puts __metadata__ first.
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},)"
      R"("b":{"dtype":"F64","shape":[2,1],"data_offsets":[0,16]}})";
  const std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
  const std::vector<double> b = {0.5, -4.0};
  const std::vector<std::uint16_t> a = {0x3C00, 0xC100};  // 1.0, -2.5
  std::vector<std::byte> file = le64(padded.size());
  for (auto x : {bytes_of(padded), bytes_of(b), bytes_of(a)})
    file.insert(file.end(), x.begin(), x.end());

  const SafetensorsFile f = SafetensorsFile::parse(file, "reference.safetensors");
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.tensors()[0].name, "b");
  EXPECT_EQ(f.tensors()[1].name, "a");
  EXPECT_EQ(f.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  const TensorInfo& tb = *f.find("b");
  EXPECT_EQ(tb.dtype, DType::F64);
  EXPECT_EQ(tb.shape, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(tb.begin, 0u);
  EXPECT_EQ(tb.end, 16u);
  double d;
  std::memcpy(&d, f.data(tb).data() + 8, sizeof d);
  EXPECT_EQ(d, -4.0);
  const auto ha = f.data(*f.find("a"));
  std::uint16_t h[2];
  std::memcpy(h, ha.data(), sizeof h);
  EXPECT_EQ(half_to_float(h[0]), 1.0f);
  EXPECT_EQ(half_to_float(h[1]), -2.5f);
}

TEST(SafetensorsReference, AcceptsEmptyTensorsAnywhereInTheTiling) {
  const std::string header = R"({"z":{"dtype":"I8","shape":[0],"data_offsets":[0,0]},)"
                             R"("m":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                             R"("e":{"dtype":"BOOL","shape":[3,0],"data_offsets":[2,2]},)"
                             R"("s":{"dtype":"I16","shape":[],"data_offsets":[2,4]}})";
  const SafetensorsFile f = SafetensorsFile::parse(make_file(header, 4), "empties");
  std::vector<std::string> order;
  for (const auto& t : f.tensors()) order.push_back(t.name);
  EXPECT_EQ(order, (std::vector<std::string>{"z", "m", "e", "s"}));
  EXPECT_TRUE(f.data(*f.find("e")).empty());
  EXPECT_EQ(f.data(*f.find("s")).size(), 2u);
}

TEST(SafetensorsReference, AcceptsJsonEscapesAndTrailingWhitespace) {
  const std::string header =
      R"({"n\u00e9\"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"__metadata__":{"k":"\ud83d\ude00"}} )"
      "\n\t ";
  const SafetensorsFile f = SafetensorsFile::parse(make_file(header, 1), "escapes");
  EXPECT_NE(f.find("n\xc3\xa9\"x"), nullptr);
  EXPECT_EQ(f.metadata().at("k"), "\xf0\x9f\x98\x80");
}

TEST(SafetensorsReference, DataOfAForeignTensorIsOutOfRange) {
  const SafetensorsFile f = SafetensorsFile::parse(make_file(kOneTensor, 16), "one");
  TensorInfo foreign = f.tensors()[0];
  foreign.end = 17;
  EXPECT_THROW((void)f.data(foreign), std::out_of_range);
}

// ---- Half precision ----

TEST(SafetensorsHalf, KnownValues) {
  EXPECT_EQ(float_to_half(1.0f), 0x3C00);
  EXPECT_EQ(float_to_half(-2.5f), 0xC100);
  EXPECT_EQ(float_to_half(65504.0f), 0x7BFF);
  EXPECT_EQ(float_to_half(0.0f), 0x0000);
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  EXPECT_EQ(float_to_half(0x1p-14f), 0x0400);  // smallest normal
  EXPECT_EQ(float_to_half(0x1p-24f), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_half(-0x1p-24f), 0x8001);
  EXPECT_EQ(float_to_half(1023 * 0x1p-24f), 0x03FF);  // largest subnormal
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(float_to_half(-std::numeric_limits<float>::infinity()), 0xFC00);
  const std::uint16_t nan = float_to_half(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7C00, 0x7C00);
  EXPECT_NE(nan & 0x03FF, 0);
  // A signalling NaN whose payload lives only in the low bits stays a NaN.
  EXPECT_NE(float_to_half(std::bit_cast<float>(0x7F800001u)) & 0x03FF, 0);

  EXPECT_EQ(half_to_float(0x3C00), 1.0f);
  EXPECT_EQ(half_to_float(0xC100), -2.5f);
  EXPECT_EQ(half_to_float(0x7BFF), 65504.0f);
  EXPECT_EQ(half_to_float(0x0001), 0x1p-24f);
  EXPECT_EQ(half_to_float(0x03FF), 1023 * 0x1p-24f);
  EXPECT_EQ(half_to_float(0x0400), 0x1p-14f);
  EXPECT_TRUE(std::signbit(half_to_float(0x8000)));
  EXPECT_EQ(half_to_float(0x8000), 0.0f);
  EXPECT_EQ(half_to_float(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(half_to_float(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(half_to_float(0x7E00)));
  EXPECT_TRUE(std::isnan(half_to_float(0x7C01)));
}

TEST(SafetensorsHalf, RoundsToNearestEven) {
  EXPECT_EQ(float_to_half(1.0f + 0x1p-11f), 0x3C00);             // tie, down to even
  EXPECT_EQ(float_to_half(1.0f + 3 * 0x1p-11f), 0x3C02);         // tie, up to even
  EXPECT_EQ(float_to_half(1.0f + 0x1p-11f + 0x1p-20f), 0x3C01);  // just past the tie
  EXPECT_EQ(float_to_half(65519.0f), 0x7BFF);                    // below the tie at 65520
  EXPECT_EQ(float_to_half(65520.0f), 0x7C00);                    // tie, to even: infinity
  EXPECT_EQ(float_to_half(1e6f), 0x7C00);
  EXPECT_EQ(float_to_half(0x1p-25f), 0x0000);  // tie between 0 and 2^-24
  EXPECT_EQ(float_to_half(0x1.0002p-25f), 0x0001);
  EXPECT_EQ(float_to_half(3 * 0x1p-25f), 0x0002);  // subnormal tie, up to even
  EXPECT_EQ(float_to_half(1e-8f), 0x0000);
  EXPECT_EQ(float_to_half(2047 * 0x1p-25f), 0x0400);  // rounds up into the normals
  EXPECT_EQ(float_to_half(0.1f), 0x2E66);
}

TEST(SafetensorsHalf, EveryHalfSurvivesARoundTripThroughFloat) {
  for (std::uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = half_to_float(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_half(f), h) << std::hex << h;
  }
}

TEST(SafetensorsBF16, KnownValuesAndRounding) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(float_to_bf16(-2.5f), 0xC020);
  EXPECT_EQ(float_to_bf16(65504.0f), 0x4780);  // 65536: bf16 keeps 8 significant bits
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(float_to_bf16(-std::numeric_limits<float>::infinity()), 0xFF80);
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::max()), 0x7F80);  // rounds to infinity
  EXPECT_EQ(float_to_bf16(0x1p-133f), 0x0001);                          // subnormal kept
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f), 0x3F80);                     // tie, down to even
  EXPECT_EQ(float_to_bf16(1.0f + 3 * 0x1p-8f), 0x3F82);                 // tie, up to even
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3F81);
  const std::uint16_t nan = float_to_bf16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(std::isnan(bf16_to_float(nan)));
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::bit_cast<float>(0x7F800001u)))));
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::bit_cast<float>(0xFFFFFFFFu)))));

  EXPECT_EQ(bf16_to_float(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_float(0xC020), -2.5f);
  EXPECT_EQ(bf16_to_float(0x7F80), std::numeric_limits<float>::infinity());
  for (std::uint32_t b = 0; b <= 0xFFFF; ++b) {
    const float f = bf16_to_float(static_cast<std::uint16_t>(b));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_bf16(f), b) << std::hex << b;
  }
}

TEST(SafetensorsDType, NamesAndSizes) {
  EXPECT_EQ(dtype_name(DType::BF16), "BF16");
  EXPECT_EQ(dtype_name(DType::BOOL), "BOOL");
  EXPECT_EQ(dtype_size(DType::F64), 8u);
  EXPECT_EQ(dtype_size(DType::F16), 2u);
  EXPECT_EQ(dtype_size(DType::BOOL), 1u);
  EXPECT_EQ(dtype_from_name("I16"), DType::I16);
  EXPECT_EQ(dtype_from_name("f32"), std::nullopt);
}

// ---- Hostile and malformed files: one defect each ----

TEST(SafetensorsRejects, EmptyFile) {
  EXPECT_TRUE(Rejected({}, "shorter than the 8-byte"));
}

TEST(SafetensorsRejects, SevenByteFile) {
  EXPECT_TRUE(Rejected(bytes_of(std::string_view("\x02\0\0\0\0\0\0", 7)),
                       "7 bytes, shorter than the 8-byte"));
}

TEST(SafetensorsRejects, HugeHeaderLength) {
  EXPECT_TRUE(Rejected(make_file(kOneTensor, 16, 1ull << 63),
                       "header length 9223372036854775808 is over the limit"));
  EXPECT_TRUE(Rejected(make_file(kOneTensor, 16, ~0ull), "header length 18446744073709551615"));
}

TEST(SafetensorsRejects, HeaderLengthBeyondTheFile) {
  EXPECT_TRUE(
      Rejected(make_file(kOneTensor, 16, kOneTensor.size() + 17), "runs past the end of the file"));
  EXPECT_TRUE(Rejected(le64(1), "runs past the end of the file"));
}

TEST(SafetensorsRejects, HeaderOverTheConfiguredLimit) {
  ReadLimits limits;
  limits.max_header_bytes = 32;
  EXPECT_TRUE(Rejected(make_file(kOneTensor, 16), "over the limit of 32 bytes", limits));
}

TEST(SafetensorsRejects, FileOverTheConfiguredLimit) {
  ReadLimits limits;
  limits.max_file_bytes = 64;
  EXPECT_TRUE(Rejected(make_file(kOneTensor, 16), "over the limit of 64", limits));
}

TEST(SafetensorsRejects, EmptyHeader) {
  EXPECT_TRUE(Rejected(make_file(""), "header is empty"));
}

TEST(SafetensorsRejects, TruncatedData) {
  EXPECT_TRUE(
      Rejected(make_file(kOneTensor, 12), "run beyond the end of the data buffer (12 bytes)"));
}

TEST(SafetensorsRejects, TrailingBytesAfterTheLastTensor) {
  EXPECT_TRUE(
      Rejected(make_file(kOneTensor, 20), "trailing bytes in the data buffer: bytes [16, 20)"));
  EXPECT_TRUE(Rejected(make_file("{}", 3), "trailing bytes"));
}

TEST(SafetensorsRejects, OverlappingTensors) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  EXPECT_TRUE(Rejected(make_file(header, 12),
                       "tensor 'b': data_offsets [4, 12] overlap tensor 'a' [0, 8]"));
  const std::string same = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                           R"("b":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})";
  EXPECT_TRUE(Rejected(make_file(same, 8), "overlap"));
  const std::string empty_inside = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                   R"("e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})";
  EXPECT_TRUE(Rejected(make_file(empty_inside, 8), "overlap"));
}

TEST(SafetensorsRejects, HoleBetweenTensors) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})";
  EXPECT_TRUE(
      Rejected(make_file(header, 16), "hole in the data buffer: bytes [8, 12) before tensor 'b'"));
  const std::string at_start = R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  EXPECT_TRUE(Rejected(make_file(at_start, 8), "hole"));
}

TEST(SafetensorsRejects, ShapeAndByteCountDisagree) {
  const std::string header = R"({"a.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})";
  EXPECT_TRUE(
      Rejected(make_file(header, 12),
               "tensor 'a.weight': data_offsets [0, 12] hold 12 bytes but F32 [2, 2] needs 16"));
}

TEST(SafetensorsRejects, ShapeWhoseElementCountOverflows) {
  const std::string header =
      R"({"a":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,0]}})";
  EXPECT_TRUE(Rejected(make_file(header), "overflow"));
  // Fits in elements, not in bytes.
  const std::string bytes =
      R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})";
  EXPECT_TRUE(Rejected(make_file(bytes), "overflow"));
  // A zero dimension does not excuse an overflow before it.
  const std::string zero =
      R"({"a":{"dtype":"U8","shape":[4611686018427387904,8,0],"data_offsets":[0,0]}})";
  EXPECT_TRUE(Rejected(make_file(zero), "overflow"));
}

TEST(SafetensorsRejects, DimensionTooLargeForInt64) {
  const std::string header =
      R"({"a":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,0]}})";
  EXPECT_TRUE(Rejected(make_file(header), "shape dimension 18446744073709551615 is too large"));
  const std::string beyond =
      R"({"a":{"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,0]}})";
  EXPECT_TRUE(Rejected(make_file(beyond), "is not an integer"));
}

TEST(SafetensorsRejects, NegativeDimension) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[-2,-2],"data_offsets":[0,16]}})";
  EXPECT_TRUE(Rejected(make_file(header, 16), "shape has a negative dimension -2"));
}

TEST(SafetensorsRejects, NegativeOffset) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})";
  EXPECT_TRUE(Rejected(make_file(header), "negative offset -4"));
}

TEST(SafetensorsRejects, NonIntegerNumbers) {
  const std::string shape = R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})";
  EXPECT_TRUE(Rejected(make_file(shape, 8), "shape dimension 2.0 is not an integer"));
  const std::string offsets = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8e0]}})";
  EXPECT_TRUE(Rejected(make_file(offsets, 8), "data_offsets value 8e0 is not an integer"));
}

TEST(SafetensorsRejects, RankOverTheLimit) {
  const std::string header =
      R"({"a":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}})";
  EXPECT_TRUE(Rejected(make_file(header, 1), "more than 8 dimensions"));
  ReadLimits limits;
  limits.max_rank = 2;
  const std::string three = R"({"a":{"dtype":"U8","shape":[1,1,1],"data_offsets":[0,1]}})";
  EXPECT_TRUE(Rejected(make_file(three, 1), "more than 2 dimensions", limits));
}

TEST(SafetensorsRejects, UnknownDtype) {
  const std::string header = R"({"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})";
  EXPECT_TRUE(Rejected(make_file(header, 1), "tensor 'a': unknown dtype 'F8_E4M3'"));
  const std::string lower = R"({"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})";
  EXPECT_TRUE(Rejected(make_file(lower, 4), "unknown dtype 'f32'"));
  const std::string number = R"({"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})";
  EXPECT_TRUE(Rejected(make_file(number, 4), "dtype is a number, not a string"));
}

TEST(SafetensorsRejects, MetadataValueThatIsNotAString) {
  const std::string header =
      R"({"__metadata__":{"epochs":3},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  EXPECT_TRUE(
      Rejected(make_file(header, 1), "__metadata__: value of 'epochs' is a number, not a string"));
  const std::string nested = R"({"__metadata__":{"cfg":{"x":"y"}}})";
  EXPECT_TRUE(Rejected(make_file(nested), "value of 'cfg' is an object, not a string"));
  const std::string null = R"({"__metadata__":{"k":null}})";
  EXPECT_TRUE(Rejected(make_file(null), "value of 'k' is null"));
}

TEST(SafetensorsRejects, MetadataThatIsNotAnObject) {
  EXPECT_TRUE(
      Rejected(make_file(R"({"__metadata__":"pt"})"), "__metadata__ is a string, not an object"));
  EXPECT_TRUE(Rejected(make_file(R"({"__metadata__":["a"]})"), "__metadata__ is an array"));
}

TEST(SafetensorsRejects, DuplicateTensorNames) {
  const std::string header = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                             R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})";
  EXPECT_TRUE(Rejected(make_file(header, 2), "duplicate tensor name 'a'"));
  // The same name spelt with an escape is still the same name.
  const std::string escaped = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                              R"("\u0061":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})";
  EXPECT_TRUE(Rejected(make_file(escaped, 2), "duplicate tensor name 'a'"));
}

TEST(SafetensorsRejects, DuplicateKeysInsideEntries) {
  const std::string field = R"({"a":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}})";
  EXPECT_TRUE(Rejected(make_file(field, 1), "tensor 'a': duplicate field 'dtype'"));
  EXPECT_TRUE(Rejected(make_file(R"({"__metadata__":{"k":"1","k":"2"}})"),
                       "__metadata__: duplicate key 'k'"));
  EXPECT_TRUE(
      Rejected(make_file(R"({"__metadata__":{},"__metadata__":{}})"), "duplicate __metadata__"));
}

TEST(SafetensorsRejects, MissingAndExtraFields) {
  EXPECT_TRUE(Rejected(make_file(R"({"a":{"dtype":"U8","data_offsets":[0,1]}})", 1),
                       "tensor 'a': missing field 'shape'"));
  EXPECT_TRUE(Rejected(make_file(R"({"a":{"shape":[1],"data_offsets":[0,1]}})", 1),
                       "missing field 'dtype'"));
  EXPECT_TRUE(Rejected(make_file(R"({"a":{"dtype":"U8","shape":[1]}})", 1),
                       "missing field 'data_offsets'"));
  EXPECT_TRUE(Rejected(
      make_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"dtype2":"x"}})", 1),
      "tensor 'a': unknown field 'dtype2'"));
}

TEST(SafetensorsRejects, FieldsOfTheWrongType) {
  EXPECT_TRUE(
      Rejected(make_file(R"({"a":[1,2]})"), "tensor 'a': entry is an array, not an object"));
  EXPECT_TRUE(Rejected(make_file(R"({"a":"x"})"), "entry is a string, not an object"));
  EXPECT_TRUE(Rejected(make_file(R"({"a":{"dtype":"U8","shape":"1","data_offsets":[0,1]}})", 1),
                       "shape is a string, not an array"));
  EXPECT_TRUE(Rejected(make_file(R"({"a":{"dtype":"U8","shape":[true],"data_offsets":[0,1]}})", 1),
                       "shape holds a boolean"));
  EXPECT_TRUE(Rejected(make_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":{"b":0}}})", 1),
                       "data_offsets is an object, not an array"));
}

TEST(SafetensorsRejects, DataOffsetsNotTwoIntegers) {
  EXPECT_TRUE(Rejected(make_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,1]}})", 1),
                       "data_offsets holds more than 2 integers"));
  EXPECT_TRUE(Rejected(make_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[1]}})", 1),
                       "data_offsets holds 1 integers, not 2"));
  EXPECT_TRUE(Rejected(make_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,"1"]}})", 1),
                       "data_offsets holds a string"));
}

TEST(SafetensorsRejects, BeginAfterEnd) {
  const std::string header = R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[8,4]}})";
  EXPECT_TRUE(Rejected(make_file(header, 8), "data_offsets [8, 4]: begin is after end"));
}

TEST(SafetensorsRejects, HeaderThatIsNotAnObject) {
  EXPECT_TRUE(Rejected(make_file("[]"), "header is not a JSON object (it starts with '['"));
  EXPECT_TRUE(Rejected(make_file("\"str\""), "not a JSON object"));
  EXPECT_TRUE(Rejected(make_file(" {}"), "not a JSON object"));
  EXPECT_TRUE(
      Rejected(make_file(std::string("\0{}", 3)), "not a JSON object (it starts with '\\x00')"));
}

TEST(SafetensorsRejects, HeaderThatIsNotJson) {
  EXPECT_TRUE(Rejected(make_file(R"({"a":)"), "header is not valid JSON"));
  EXPECT_TRUE(Rejected(make_file(R"({a:1})"), "header is not valid JSON"));
  EXPECT_TRUE(Rejected(make_file(R"({} {})"), "header is not valid JSON"));
  // JSON allows no raw NUL; the parser alone would stop at it and accept "{}".
  EXPECT_TRUE(Rejected(make_file(std::string("{}\0\0", 4)), "NUL byte at header offset 2"));
  EXPECT_TRUE(Rejected(make_file(std::string("{\"a\0\":{}}", 8)), "NUL byte at header offset 3"));
  // A lone surrogate escape names no character.
  EXPECT_TRUE(Rejected(make_file(R"({"\ud800":{}})"), "header is not valid JSON"));
}

TEST(SafetensorsRejects, HeaderThatIsNotUtf8) {
  EXPECT_TRUE(Rejected(make_file("{\"a\xff\":{}}"),
                       "header is not valid UTF-8 (byte 0xff at header offset 3)"));
  EXPECT_TRUE(Rejected(make_file("{\"\xc0\xaf\":{}}"), "not valid UTF-8"));      // overlong '/'
  EXPECT_TRUE(Rejected(make_file("{\"\xed\xa0\x80\":{}}"), "not valid UTF-8"));  // surrogate
  EXPECT_TRUE(Rejected(make_file("{\"\xe2\x82\":{}}"), "not valid UTF-8"));      // cut short
}

TEST(SafetensorsRejects, DeeplyNestedJson) {
  EXPECT_TRUE(
      Rejected(make_file("{\"a\":" + std::string(10000, '[')), "nests deeper than 4 levels"));
  EXPECT_TRUE(Rejected(make_file("{\"a\":{\"shape\":[[[[1]]]]}}"), "nests deeper than 4 levels"));
  EXPECT_TRUE(
      Rejected(make_file(std::string(10000, '[') + std::string(10000, ']')), "not a JSON object"));
  // Brackets inside strings are text, not nesting.
  const std::string in_string = R"({"[[[[[[{{{{":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  EXPECT_NO_THROW(SafetensorsFile::parse(make_file(in_string, 1), "brackets"));
}

TEST(SafetensorsRejects, TooManyTensors) {
  ReadLimits limits;
  limits.max_tensors = 2;
  const std::string header = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                             R"("b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},)"
                             R"("c":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}})";
  EXPECT_TRUE(Rejected(make_file(header, 3), "more than 2 tensors", limits));
  // __metadata__ is not a tensor.
  const std::string two =
      R"({"__metadata__":{},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
      R"("b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})";
  EXPECT_NO_THROW(SafetensorsFile::parse(make_file(two, 2), "two", limits));
}

TEST(SafetensorsRejects, LongNamesAreCutInMessages) {
  const std::string name(5000, 'n');
  const std::string header = "{\"" + name + R"(":{"dtype":"X","shape":[1],"data_offsets":[0,1]}})";
  try {
    SafetensorsFile::parse(make_file(header, 1), kSource);
    FAIL() << "accepted";
  } catch (const FormatError& e) {
    EXPECT_LT(std::string(e.what()).size(), 300u) << e.what();
    EXPECT_NE(std::string(e.what()).find("nnn...'"), std::string::npos) << e.what();
  }
}

// ---- Inputs the fuzzer (fuzz/safetensors_fuzz.cpp) once broke ----

// Each replays as the target does: parse, read every span, re-serialize, parse
// again and compare.
void replay_like_the_fuzzer(const std::vector<std::byte>& input) {
  std::optional<SafetensorsFile> file;
  try {
    file = SafetensorsFile::parse(input, "fuzz.safetensors");
  } catch (const FormatError&) {
    return;
  }
  std::vector<TensorToWrite> tensors;
  for (const TensorInfo& t : file->tensors())
    tensors.push_back({t.name, t.dtype, t.shape, file->data(t)});
  const auto written = serialize_safetensors(std::move(tensors), file->metadata());
  const SafetensorsFile again = SafetensorsFile::parse(written, "rewritten.safetensors");
  ASSERT_EQ(again.tensors().size(), file->tensors().size());
  for (const TensorInfo& t : file->tensors()) {
    const TensorInfo* u = again.find(t.name);
    ASSERT_NE(u, nullptr) << t.name;
    EXPECT_EQ(u->dtype, t.dtype);
    EXPECT_EQ(u->shape, t.shape);
    EXPECT_EQ(text_of(again.data(*u)), text_of(file->data(t)));
  }
  EXPECT_EQ(again.metadata(), file->metadata());
}

// The reader counted elements first (2^62 * 0 = 0, then 0 bytes); the writer
// multiplied the dtype size in first (4 * 2^62 overflows) and refused to write
// what the reader had accepted.
TEST(SafetensorsFuzzRegressions, ZeroDimensionAfterAHugeOne) {
  const std::string header =
      R"({"a":{"dtype":"F32","shape":[4611686018427387904,0],"data_offsets":[0,0]}}      )";
  ASSERT_EQ(header.size(), 0x50u);
  const auto input = make_file(header);
  const SafetensorsFile f = SafetensorsFile::parse(input, "fuzz.safetensors");
  EXPECT_EQ(f.tensors().at(0).shape, (std::vector<int64_t>{1ll << 62, 0}));
  replay_like_the_fuzzer(input);
}

// ---- Reading files ----

using SafetensorsRead = TempDir;

TEST_F(SafetensorsRead, MissingFile) {
  const fs::path path = dir_ / "absent.safetensors";
  try {
    SafetensorsFile::read(path);
    FAIL() << "read a missing file";
  } catch (const FormatError& e) {
    EXPECT_EQ(std::string(e.what()), path.string() + ": no such file");
  }
}

TEST_F(SafetensorsRead, FolderIsNotAFile) {
  try {
    SafetensorsFile::read(dir_);
    FAIL() << "read a folder";
  } catch (const FormatError& e) {
    EXPECT_EQ(std::string(e.what()), dir_.string() + ": not a regular file");
  }
}

TEST_F(SafetensorsRead, FileOverTheSizeLimitIsRefusedBeforeReading) {
  const fs::path path = dir_ / "big.safetensors";
  std::ofstream(path, std::ios::binary) << std::string(100, 'x');
  ReadLimits limits;
  limits.max_file_bytes = 99;
  try {
    SafetensorsFile::read(path, limits);
    FAIL() << "read an oversized file";
  } catch (const FormatError& e) {
    EXPECT_EQ(std::string(e.what()), path.string() + ": file is 100 bytes, over the limit of 99");
  }
}

TEST_F(SafetensorsRead, ErrorsStartWithThePath) {
  const fs::path path = dir_ / "model.safetensors";
  const std::string header = R"({"a.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})";
  const auto bytes = make_file(header, 12);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  try {
    SafetensorsFile::read(path);
    FAIL() << "accepted";
  } catch (const FormatError& e) {
    EXPECT_EQ(
        std::string(e.what()),
        path.string() +
            ": tensor 'a.weight': data_offsets [0, 12] hold 12 bytes but F32 [2, 2] needs 16");
  }
}
