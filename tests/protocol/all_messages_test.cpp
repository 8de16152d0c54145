// The generic checks over every generated message (kb/protocol/messages/all.hpp
// lists them) at every version served, the request and response headers, and
// every generated record (kb/records/all.hpp) at every version: decode of
// encode is identity, truncation at every length fails cleanly, and unknown
// tagged fields are skipped wherever a tagged-field section may be, in nested
// structs too.
#include "kb/protocol/messages/all.hpp"

#include <cxxabi.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include "kb/protocol/messages/headers.hpp"
#include "kb/records/all.hpp"
#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;

template <class List>
struct ToGtestTypes;
template <class... Messages>
struct ToGtestTypes<MessageList<Messages...>> {
  using type = ::testing::Types<Messages...>;
};
template <class... Records>
struct ToGtestTypes<records::RecordList<Records...>> {
  using type = ::testing::Types<Records...>;
};

struct MessageName {
  template <class M>
  static std::string GetName(int /*index*/) {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> name(
        abi::__cxa_demangle(typeid(M).name(), nullptr, nullptr, &status), std::free);
    std::string text = status == 0 ? name.get() : typeid(M).name();
    const auto colons = text.rfind("::");
    return colons == std::string::npos ? text : text.substr(colons + 2);
  }
};

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};
template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};

// Encodes like wire::Encoder in a flexible version, but ends every struct's
// tagged-field section with an unknown tag (300, three bytes) after its known
// ones, nested structs included.
class UnknownTagEncoder {
 public:
  // The request header's client id: classic even in flexible versions.
  template <class T>
  void classic(T& v) {
    plain_.classic(v);
  }

  UnknownTagEncoder(wire::Writer& writer, int16_t version_)
      : version(version_), writer_(writer), plain_(writer, version_, true) {}
  const int16_t version;
  const bool flexible = true;

  template <class T>
  void operator()(T& v) {
    if constexpr (wire::Struct<T>) {
      v.fields(*this);
      write_tags(v);
    } else if constexpr (IsVector<T>::value) {
      if constexpr (wire::Struct<typename T::value_type>) {
        writer_.compact_array_length(static_cast<int32_t>(v.size()));
        for (auto& e : v) (*this)(e);
      } else {
        plain_(v);
      }
    } else if constexpr (IsOptional<T>::value) {
      using Inner = typename T::value_type;
      if constexpr (wire::Struct<Inner>) {
        writer_.int8(v ? 1 : -1);
        if (v) (*this)(*v);
      } else if constexpr (IsVector<Inner>::value) {
        if (!v) {
          writer_.compact_array_length(-1);
        } else {
          (*this)(*v);
        }
      } else {
        plain_(v);
      }
    } else {
      plain_(v);
    }
  }

 private:
  template <class T>
  void write_tags(T& s) {
    uint32_t known = 0;
    if constexpr (wire::HasTaggedFields<T>) {
      wire::TagEncoder counter(writer_, version, true);
      s.tagged_fields(counter);
      known = counter.count();
    }
    writer_.uvarint(known + 1);
    if constexpr (wire::HasTaggedFields<T>) {
      wire::TagEncoder tags(writer_, version, false);
      s.tagged_fields(tags);
    }
    const ByteVec unknown = test::from_hex("ac02 03 aa bb cc");
    writer_.raw(unknown);
  }

  wire::Writer& writer_;
  wire::Encoder plain_;
};

template <class M>
void unknown_tags_in_every_struct_are_skipped() {
  int checked = 0;
  for (int16_t v = test::min_version<M>(); v <= test::max_version<M>(); ++v) {
    if (!test::is_flexible<M>(v)) continue;
    SCOPED_TRACE(::testing::Message() << "version " << v);
    test::Filled<M> filled(v);
    ByteBuffer buffer;
    wire::Writer writer(buffer);
    UnknownTagEncoder with_unknown(writer, v);
    with_unknown(filled.message);
    const ByteVec tagged(buffer.span().begin(), buffer.span().end());
    const ByteVec plain = test::encode_message(filled.message, v);
    ASSERT_GT(tagged.size(), plain.size());
    M decoded;
    ASSERT_TRUE(test::decode_message(tagged, decoded, v));
    EXPECT_EQ(test::hex(test::encode_message(decoded, v)), test::hex(plain));
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "never flexible";
}

template <class M>
class AllMessages : public ::testing::Test {};
TYPED_TEST_SUITE(AllMessages, ToGtestTypes<AllGeneratedMessages>::type, MessageName);

TYPED_TEST(AllMessages, RoundTripsAtEveryVersion) {
  test::expect_round_trips_at_every_version<TypeParam>();
}

TYPED_TEST(AllMessages, TruncationsFailAtEveryLength) {
  test::expect_truncations_fail<TypeParam>();
}

TYPED_TEST(AllMessages, UnknownTopLevelTagsAreSkipped) {
  if (TypeParam::kFirstFlexible > TypeParam::kVersions.max) GTEST_SKIP() << "never flexible";
  test::expect_unknown_tags_skipped<TypeParam>();
}

TYPED_TEST(AllMessages, UnknownTagsInEveryStructAreSkipped) {
  unknown_tags_in_every_struct_are_skipped<TypeParam>();
}

// The request header from v1 (v0 is only its fixed start) and the response header.
template <class M>
class Headers : public ::testing::Test {};
using HeaderTypes = ::testing::Types<RequestHeader, ResponseHeader>;
TYPED_TEST_SUITE(Headers, HeaderTypes, MessageName);

TYPED_TEST(Headers, RoundTripsAtEveryVersion) {
  test::expect_round_trips_at_every_version<TypeParam>();
}

TYPED_TEST(Headers, TruncationsFailAtEveryLength) { test::expect_truncations_fail<TypeParam>(); }

TYPED_TEST(Headers, UnknownTagsAreSkipped) {
  test::expect_unknown_tags_skipped<TypeParam>();
  unknown_tags_in_every_struct_are_skipped<TypeParam>();
}

template <class M>
class AllRecords : public ::testing::Test {};
TYPED_TEST_SUITE(AllRecords, ToGtestTypes<records::AllGeneratedRecords>::type, MessageName);

TYPED_TEST(AllRecords, RoundTripsAtEveryVersion) {
  test::expect_round_trips_at_every_version<TypeParam>();
}

TYPED_TEST(AllRecords, TruncationsFailAtEveryLength) { test::expect_truncations_fail<TypeParam>(); }

TYPED_TEST(AllRecords, UnknownTopLevelTagsAreSkipped) {
  if (TypeParam::kFirstFlexible > TypeParam::kMaxVersion) GTEST_SKIP() << "never flexible";
  test::expect_unknown_tags_skipped<TypeParam>();
}

TYPED_TEST(AllRecords, UnknownTagsInEveryStructAreSkipped) {
  unknown_tags_in_every_struct_are_skipped<TypeParam>();
}

}  // namespace
}  // namespace kb::protocol
