#pragma once

// One definition per message serves decoding and encoding at every version.
//
// A message (or any struct inside one) lists its fields once, in wire order,
// with the versions each appears in:
//
//   struct Partition {
//     int32_t index = 0;
//     std::string name;
//     std::vector<int32_t> replicas;
//     template <class Io> void fields(Io& io) {
//       io(index);
//       if (io.version >= 2) io(name);
//       io(replicas);
//     }
//     // Only when the struct has tagged fields (flexible versions):
//     template <class Tags> void tagged_fields(Tags& t) {
//       if (t.version >= 3) t(0, leader_epoch, int32_t{-1});
//     }
//   };
//
// `Io` is a Decoder or an Encoder. The C++ type of a field picks its wire type;
// whether strings, bytes and arrays use the compact forms follows `flexible`,
// and every struct ends with its tagged-field section in flexible versions.
//
//   C++ type                                  wire type
//   int8_t int16_t int32_t int64_t            intN
//   uint16_t uint32_t double bool Uuid        uint16 uint32 float64 bool uuid
//   std::string / std::string_view            (compact) string
//   std::optional<std::string[_view]>         (compact) nullable string
//   Bytes / std::vector<uint8_t>              (compact) bytes
//   std::optional<Bytes>                      (compact) nullable bytes / records
//   std::optional<std::vector<uint8_t>>       (compact) nullable bytes
//   Records                                   the same, or sent from a file
//   std::vector<T>                            (compact) array
//   std::optional<std::vector<T>>             (compact) nullable array
//   std::optional<Struct>                     nullable struct (int8 -1 / 1 marker;
//                                             in a tagged field a varint 0 / 1)
//
// Views (string_view, Bytes) decode as views into the source buffer: a decoded
// request may only be used while its frame is alive.

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "kb/base/byte_buffer.hpp"
#include "kb/base/file_range.hpp"
#include "kb/wire/reader.hpp"
#include "kb/wire/uuid.hpp"
#include "kb/wire/writer.hpp"

namespace kb::wire {

using Bytes = std::span<const uint8_t>;

// A records field: nullable bytes, decoded as a view into the source buffer.
// When encoding, `file` may stand in for the value: the record batches then go
// out from the file as they are (Writer::bytes_from_file), not via memory.
struct Records : std::optional<Bytes> {
  using std::optional<Bytes>::optional;
  using std::optional<Bytes>::operator=;
  std::optional<FileRange> file;
};

inline constexpr size_t kMaxReserveElements = 1024;

class Decoder;
class Encoder;

template <class T>
concept Struct = requires(T& t, Decoder& d, Encoder& e) {
  t.fields(d);
  t.fields(e);
};

template <class T>
concept HasTaggedFields = requires {
  &T::template tagged_fields<int>;
};

// Reads fields from a Reader. Errors are the Reader's (sticky).
class Decoder {
 public:
  Decoder(Reader& reader, int16_t version_, bool flexible_)
      : version(version_), flexible(flexible_), reader_(reader) {}

  const int16_t version;
  const bool flexible;
  Reader& reader() { return reader_; }

  void operator()(int8_t& v) { v = reader_.int8(); }
  void operator()(int16_t& v) { v = reader_.int16(); }
  void operator()(int32_t& v) { v = reader_.int32(); }
  void operator()(int64_t& v) { v = reader_.int64(); }
  void operator()(uint16_t& v) { v = reader_.uint16(); }
  void operator()(uint32_t& v) { v = reader_.uint32(); }
  void operator()(double& v) { v = reader_.float64(); }
  void operator()(bool& v) { v = reader_.boolean(); }
  void operator()(Uuid& v) { v = reader_.uuid(); }

  void operator()(std::string_view& v) {
    v = flexible ? reader_.compact_string() : reader_.string();
  }
  void operator()(std::string& v) {
    std::string_view view;
    (*this)(view);
    v.assign(view);
  }
  void operator()(std::optional<std::string_view>& v) {
    v = flexible ? reader_.compact_nullable_string() : reader_.nullable_string();
  }
  void operator()(std::optional<std::string>& v) {
    std::optional<std::string_view> view;
    (*this)(view);
    if (view)
      v.emplace(*view);
    else
      v.reset();
  }
  void operator()(Bytes& v) { v = flexible ? reader_.compact_bytes() : reader_.bytes(); }
  void operator()(std::vector<uint8_t>& v) {
    Bytes view;
    (*this)(view);
    v.assign(view.begin(), view.end());
  }
  void operator()(std::optional<Bytes>& v) {
    v = flexible ? reader_.compact_nullable_bytes() : reader_.nullable_bytes();
  }
  void operator()(Records& v) {
    (*this)(static_cast<std::optional<Bytes>&>(v));
    v.file.reset();
  }
  // Nullable bytes kept as a copy (not an array of int8).
  void operator()(std::optional<std::vector<uint8_t>>& v) {
    std::optional<Bytes> view;
    (*this)(view);
    if (view)
      v.emplace(view->begin(), view->end());
    else
      v.reset();
  }

  template <class T>
  void operator()(std::vector<T>& v) {
    int32_t n = array_length();
    if (n == -1) reader_.fail("null array where one is required");
    read_elements(v, n);
  }
  template <class T>
  void operator()(std::optional<std::vector<T>>& v) {
    int32_t n = array_length();
    if (n == -1 || !reader_.ok()) {
      v.reset();
      return;
    }
    read_elements(v.emplace(), n);
  }

  template <Struct T>
  void operator()(T& s) {
    s.fields(*this);
    if (flexible) read_tagged_fields(s);
  }
  template <Struct T>
  void operator()(std::optional<T>& s) {
    if (reader_.int8() < 0 || !reader_.ok()) {
      s.reset();
      return;
    }
    // Not s.emplace(): clang 14 (the fuzz build) decides a nested struct with
    // member initializers is not default-constructible inside its enclosing class.
    s = T{};
    (*this)(*s);
  }

  // A field whose schema says "flexibleVersions": "none": its classic form
  // (int16 or int32 length) even in flexible versions.
  template <class T>
  void classic(T& field) {
    Decoder d(reader_, version, false);
    d(field);
  }

  // The value of a tagged field. A nullable struct there starts with an
  // unsigned varint instead of the int8 marker: Kafka reads it as a signed
  // int, so 0 and 2^31 or more mean null.
  template <class T>
  void tagged(T& field) {
    (*this)(field);
  }
  template <Struct T>
  void tagged(std::optional<T>& s) {
    const auto marker = static_cast<int32_t>(reader_.uvarint());
    if (marker <= 0 || !reader_.ok()) {
      s.reset();
      return;
    }
    s = T{};  // not emplace(): see the nullable struct above
    (*this)(*s);
  }

  // Reads a tagged-field section: known tags go to s.tagged_fields(), unknown
  // ones are skipped by their size. As in Kafka, tags may come in any order
  // and more than once (the last one counts); only writers keep them sorted.
  template <class T>
  void read_tagged_fields(T& s);

 private:
  int32_t array_length() {
    return flexible ? reader_.compact_array_length() : reader_.array_length();
  }
  template <class T>
  void read_elements(std::vector<T>& v, int32_t n) {
    v.clear();
    if (n <= 0 || !reader_.ok()) return;
    // n is at most the bytes left (checked by the reader), but an element may
    // be far bigger in memory than its one byte on the wire: reserve only a
    // bounded amount up front and let a real array grow as it decodes.
    v.reserve(std::min(static_cast<size_t>(n), kMaxReserveElements));
    for (int32_t i = 0; i < n && reader_.ok(); ++i) (*this)(v.emplace_back());
  }

  Reader& reader_;
};

// Passed to tagged_fields() while decoding: decodes the field whose tag is the
// one just read, from the reader itself, as Kafka's generated readers do: the
// size in front of a known tag is not checked against what its value takes.
class TagDecoder {
 public:
  TagDecoder(Decoder& decoder, uint32_t tag)
      : version(decoder.version), decoder_(decoder), tag_(tag) {}
  const int16_t version;

  template <class T, class D = T>
  void operator()(uint32_t tag, T& field, const D& /*default_value*/ = D{}) {
    if (tag != tag_ || matched_) return;
    matched_ = true;
    // A tag sent twice: the later value replaces the whole earlier one.
    field = T{};
    decoder_.tagged(field);
  }
  // A tag the schema gives this struct in other versions only: Kafka refuses it.
  void invalid(uint32_t tag) {
    if (tag != tag_ || matched_) return;
    matched_ = true;
    decoder_.reader().fail("tagged field not valid at this version");
  }
  bool matched() const { return matched_; }

 private:
  Decoder& decoder_;
  uint32_t tag_;
  bool matched_ = false;
};

template <class T>
void Decoder::read_tagged_fields(T& s) {
  // Kafka reads the count as a signed int: a count of 2^31 or more reads as
  // negative, and its loop then reads no tag at all.
  const auto count = static_cast<int32_t>(reader_.uvarint());
  for (int32_t i = 0; i < count && reader_.ok(); ++i) {
    const uint32_t tag = reader_.uvarint();
    const uint32_t size = reader_.uvarint();
    if (!reader_.ok()) return;
    bool known = false;
    if constexpr (HasTaggedFields<T>) {
      TagDecoder td(*this, tag);
      s.tagged_fields(td);
      known = td.matched();
    }
    if (!known) reader_.skip(size);  // unknown: skipped by its size
  }
}

// Writes fields to a Writer.
class Encoder {
 public:
  Encoder(Writer& writer, int16_t version_, bool flexible_)
      : version(version_), flexible(flexible_), writer_(writer) {}

  const int16_t version;
  const bool flexible;
  Writer& writer() { return writer_; }

  // Encoding never modifies a field; the mutable references only let one
  // fields() definition serve both directions.
  void operator()(int8_t v) { writer_.int8(v); }
  void operator()(int16_t v) { writer_.int16(v); }
  void operator()(int32_t v) { writer_.int32(v); }
  void operator()(int64_t v) { writer_.int64(v); }
  void operator()(uint16_t v) { writer_.uint16(v); }
  void operator()(uint32_t v) { writer_.uint32(v); }
  void operator()(double v) { writer_.float64(v); }
  void operator()(bool v) { writer_.boolean(v); }
  void operator()(const Uuid& v) { writer_.uuid(v); }
  void operator()(std::string_view v) { flexible ? writer_.compact_string(v) : writer_.string(v); }
  void operator()(const std::string& v) { (*this)(std::string_view(v)); }
  void operator()(const std::optional<std::string_view>& v) {
    flexible ? writer_.compact_nullable_string(v) : writer_.nullable_string(v);
  }
  void operator()(const std::optional<std::string>& v) {
    (*this)(v ? std::optional<std::string_view>(*v) : std::nullopt);
  }
  void operator()(Bytes v) { flexible ? writer_.compact_bytes(v) : writer_.bytes(v); }
  void operator()(const std::vector<uint8_t>& v) { (*this)(Bytes(v)); }
  void operator()(const std::optional<Bytes>& v) {
    flexible ? writer_.compact_nullable_bytes(v) : writer_.nullable_bytes(v);
  }
  void operator()(const std::optional<std::vector<uint8_t>>& v) {
    (*this)(v ? std::optional<Bytes>(Bytes(*v)) : std::nullopt);
  }
  void operator()(const Records& v) {
    if (!v.file) return (*this)(static_cast<const std::optional<Bytes>&>(v));
    flexible ? writer_.compact_bytes_from_file(*v.file) : writer_.bytes_from_file(*v.file);
  }

  template <class T>
  void operator()(const std::vector<T>& v) {
    array_length(static_cast<int32_t>(v.size()));
    for (const T& e : v) (*this)(e);
  }
  template <class T>
  void operator()(const std::optional<std::vector<T>>& v) {
    if (!v) return array_length(-1);
    (*this)(*v);
  }

  template <Struct T>
  void operator()(const T& s) {
    auto& fields_of = const_cast<T&>(s);
    fields_of.fields(*this);
    if (flexible) write_tagged_fields(fields_of);
  }
  template <Struct T>
  void operator()(const std::optional<T>& s) {
    writer_.int8(s ? 1 : -1);
    if (s) (*this)(*s);
  }

  // A field whose schema says "flexibleVersions": "none" (see Decoder).
  template <class T>
  void classic(const T& field) {
    Encoder e(writer_, version, false);
    e(field);
  }

  // The value of a tagged field (see Decoder::tagged): a nullable struct
  // there has a varint marker, 1 before the struct, 0 for null.
  template <class T>
  void tagged(const T& field) {
    (*this)(field);
  }
  template <Struct T>
  void tagged(const std::optional<T>& s) {
    writer_.uvarint(s ? 1 : 0);
    if (s) (*this)(*s);
  }

  template <class T>
  void write_tagged_fields(T& s);

 private:
  void array_length(int32_t n) {
    flexible ? writer_.compact_array_length(n) : writer_.array_length(n);
  }
  Writer& writer_;
};

// Passed to tagged_fields() while encoding. A field equal to its default is
// left out, as Kafka does. First pass counts, second pass writes.
class TagEncoder {
 public:
  TagEncoder(Writer& writer, int16_t version_, bool counting)
      : version(version_), writer_(writer), counting_(counting) {}
  const int16_t version;

  template <class T, class D = T>
  void operator()(uint32_t tag, const T& field, const D& default_value = D{}) {
    if (field == default_value) return;
    ++count_;
    if (counting_) return;
    ByteBuffer scratch;
    Writer sw(scratch);
    Encoder e(sw, version, true);
    e.tagged(field);
    writer_.uvarint(tag);
    writer_.uvarint(static_cast<uint32_t>(scratch.size()));
    writer_.raw(scratch.span());
  }
  uint32_t count() const { return count_; }

 private:
  Writer& writer_;
  bool counting_;
  uint32_t count_ = 0;
};

template <class T>
void Encoder::write_tagged_fields(T& s) {
  if constexpr (HasTaggedFields<T>) {
    TagEncoder counter(writer_, version, true);
    s.tagged_fields(counter);
    writer_.uvarint(counter.count());
    TagEncoder tag_writer(writer_, version, false);
    s.tagged_fields(tag_writer);
  } else {
    writer_.uvarint(0);
  }
}

// How generated fields() read and write a field kept in its classic form in
// flexible versions (the request header's client id, so any broker can read
// it). An Io without classic() (a test's walker) takes it as any field.
template <class Io, class T>
void classic(Io& io, T& field) {
  if constexpr (requires { io.classic(field); })
    io.classic(field);
  else
    io(field);
}

// How generated tagged_fields() name a tag the schema gives the struct only in
// other versions: decoding refuses it there (Kafka's reader throws); other
// walkers (encoders, tests) have nothing to do.
template <class Tags>
void invalid_tag(Tags& t, uint32_t tag) {
  if constexpr (requires { t.invalid(tag); }) t.invalid(tag);
}

// Decodes a whole struct from bytes at a version; the reader reports errors.
template <Struct T>
void decode(Reader& reader, T& out, int16_t version, bool flexible) {
  Decoder d(reader, version, flexible);
  d(out);
}

template <Struct T>
void encode(Writer& writer, const T& in, int16_t version, bool flexible) {
  Encoder e(writer, version, flexible);
  e(in);
}

}  // namespace kb::wire
