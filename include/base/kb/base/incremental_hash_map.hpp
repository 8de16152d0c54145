#pragma once

#include <cstddef>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <utility>

namespace kb::base {

// A chained hash map that never rehashes all its entries in one call. When it
// fills, a table of twice the buckets is made and every later insert or erase
// moves a few buckets of the old table into it, so the move is spread over the
// next inserts (it always ends before the new table fills) and no single call
// costs time that grows with the size. Lookups search both tables meanwhile.
// The bucket arrays come zeroed from calloc, which maps big ones lazily: making
// a large table does not write it all at once either. Entries never move in
// memory: a pointer to a value stays valid until its entry is erased.
template <class Key, class Value, class Hash = std::hash<Key>>
class IncrementalHashMap {
 public:
  IncrementalHashMap() = default;
  ~IncrementalHashMap() { clear(); }
  IncrementalHashMap(const IncrementalHashMap&) = delete;
  IncrementalHashMap& operator=(const IncrementalHashMap&) = delete;
  IncrementalHashMap(IncrementalHashMap&& other) noexcept { swap(other); }
  IncrementalHashMap& operator=(IncrementalHashMap&& other) noexcept {
    if (this != &other) {
      clear();
      swap(other);
    }
    return *this;
  }

  // The hash a lookup of `key` uses; a caller that looks a key up several
  // times computes it once.
  size_t hash_of(const Key& key) const { return hash_(key); }

  Value* find(const Key& key) { return find(key, hash_of(key)); }
  const Value* find(const Key& key) const { return find(key, hash_of(key)); }
  Value* find(const Key& key, size_t hash) {
    Node* node = find_node(key, hash);
    return node ? &node->value : nullptr;
  }
  const Value* find(const Key& key, size_t hash) const {
    const Node* node = find_node(key, hash);
    return node ? &node->value : nullptr;
  }

  // Stores `value` under `key`, replacing the value of an equal key; returns
  // the stored value.
  Value& insert_or_assign(const Key& key, Value value) {
    const size_t hash = hash_of(key);
    move_some_buckets();
    if (Node* node = find_node(key, hash)) {
      node->value = std::move(value);
      return node->value;
    }
    grow_if_full();
    Node*& head = now_.buckets[hash & (now_.count - 1)];
    head = new Node{key, std::move(value), hash, head};
    ++size_;
    return head->value;
  }

  bool erase(const Key& key) {
    const size_t hash = hash_of(key);
    move_some_buckets();
    if (unlink(old_, key, hash) || unlink(now_, key, hash)) {
      --size_;
      return true;
    }
    return false;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Buckets of the table entries are moved into (for tests).
  size_t bucket_count() const { return now_.count; }
  // Whether an old table is still being emptied into the new one.
  bool moving() const { return old_.count != 0; }

  void clear() {
    free_table(old_);
    free_table(now_);
    moved_ = 0;
    size_ = 0;
  }

  void swap(IncrementalHashMap& other) noexcept {
    std::swap(now_, other.now_);
    std::swap(old_, other.old_);
    std::swap(moved_, other.moved_);
    std::swap(size_, other.size_);
  }

 private:
  struct Node {
    Key key;
    Value value;
    size_t hash;
    Node* next;
  };
  struct FreeBuckets {
    void operator()(Node** p) const noexcept { std::free(p); }  // NOLINT(*-no-malloc)
  };
  struct Table {
    std::unique_ptr<Node*[], FreeBuckets> buckets;
    size_t count = 0;  // a power of two, or 0 before the first insert
  };

  // Buckets moved per insert or erase: the old table has half the new one's
  // buckets, so it is empty before the new one holds an entry per bucket.
  static constexpr size_t kBucketsPerStep = 4;
  static constexpr size_t kFirstBuckets = 16;

  Table now_;
  Table old_;
  size_t moved_ = 0;  // old_ buckets below this index are empty
  size_t size_ = 0;
  [[no_unique_address]] Hash hash_;

  static Table make_table(size_t count) {
    // calloc: zeroed lazily by the kernel for big tables. The buckets are
    // pointers, so their size is a pointer's.
    using Bucket = Node*;
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    auto* raw = static_cast<Bucket*>(std::calloc(count, sizeof(Bucket)));
    if (raw == nullptr) throw std::bad_alloc();
    return Table{std::unique_ptr<Node*[], FreeBuckets>(raw), count};
  }

  static void free_table(Table& table) {
    for (size_t i = 0; i < table.count; ++i)
      for (Node* node = table.buckets[i]; node != nullptr;) {
        Node* next = node->next;
        delete node;
        node = next;
      }
    table = Table{};
  }

  static Node* search(const Table& table, const Key& key, size_t hash) {
    if (table.count == 0) return nullptr;
    for (Node* node = table.buckets[hash & (table.count - 1)]; node != nullptr; node = node->next)
      if (node->hash == hash && node->key == key) return node;
    return nullptr;
  }

  Node* find_node(const Key& key, size_t hash) const {
    if (Node* node = search(old_, key, hash)) return node;
    return search(now_, key, hash);
  }

  static bool unlink(Table& table, const Key& key, size_t hash) {
    if (table.count == 0) return false;
    for (Node** at = &table.buckets[hash & (table.count - 1)]; *at != nullptr; at = &(*at)->next)
      if ((*at)->hash == hash && (*at)->key == key) {
        Node* gone = *at;
        *at = gone->next;
        delete gone;
        return true;
      }
    return false;
  }

  void move_some_buckets() {
    if (old_.count == 0) return;
    for (size_t n = 0; n < kBucketsPerStep && moved_ < old_.count; ++n, ++moved_) {
      Node* node = old_.buckets[moved_];
      old_.buckets[moved_] = nullptr;
      while (node != nullptr) {
        Node* next = node->next;
        Node*& head = now_.buckets[node->hash & (now_.count - 1)];
        node->next = head;
        head = node;
        node = next;
      }
    }
    if (moved_ == old_.count) {
      old_ = Table{};  // every bucket moved: nothing left to free
      moved_ = 0;
    }
  }

  void grow_if_full() {
    if (now_.count == 0) {
      now_ = make_table(kFirstBuckets);
      return;
    }
    if (size_ < now_.count) return;
    // Normally emptied long ago (see kBucketsPerStep); finish it if not.
    while (old_.count != 0) move_some_buckets();
    old_ = std::move(now_);
    now_ = make_table(old_.count * 2);
    moved_ = 0;
  }
};

}  // namespace kb::base
