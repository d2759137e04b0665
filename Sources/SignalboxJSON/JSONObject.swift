/// A JSON object that keeps its members in document order.
///
/// Telemetry objects are small, so members live in one array and lookups scan it; objects with
/// many members also keep a key index so lookups stay O(1). Setting an existing key replaces its
/// value in place (as a parser does for duplicate keys: the last one wins).
public struct JSONObject: Sendable {
    /// One member of an object.
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: Value

        @inlinable
        public init(key: String, value: Value) {
            self.key = key
            self.value = value
        }
    }

    /// Objects with more members than this keep a key index.
    @usableFromInline static let indexThreshold = 12

    @usableFromInline var storage: [Member]
    @usableFromInline var index: [String: Int]?

    /// An empty object.
    @inlinable
    public init() {
        storage = []
        index = nil
    }

    /// An empty object with room for `capacity` members.
    @inlinable
    public init(minimumCapacity capacity: Int) {
        storage = []
        storage.reserveCapacity(capacity)
        index = nil
    }

    /// An object with `members`; a repeated key keeps the last value, at its first position.
    public init(_ members: [Member]) {
        self.init(minimumCapacity: members.count)
        for member in members { self[member.key] = member.value }
    }

    /// The members in document order.
    @inlinable
    public var members: [Member] { storage }

    /// The keys in document order.
    public var keys: [String] { storage.map(\.key) }

    /// The number of members.
    @inlinable
    public var count: Int { storage.count }

    /// Whether the object has no members.
    @inlinable
    public var isEmpty: Bool { storage.isEmpty }

    @inlinable
    func position(of key: String) -> Int? {
        if let index { return index[key] }
        for i in storage.indices where storage[i].key == key { return i }
        return nil
    }

    /// The value for `key`, or `nil`; assigning `nil` removes the member.
    @inlinable
    public subscript(key: String) -> Value? {
        get {
            guard let i = position(of: key) else { return nil }
            return storage[i].value
        }
        set {
            if let i = position(of: key) {
                if let newValue {
                    storage[i].value = newValue
                } else {
                    storage.remove(at: i)
                    rebuildIndex()
                }
            } else if let newValue {
                appendUnique(key: key, value: newValue)
            }
        }
    }

    /// Appends a member whose key the caller knows is not present yet (faster than the subscript).
    @inlinable
    public mutating func appendUnique(key: String, value: Value) {
        storage.append(Member(key: key, value: value))
        if index != nil {
            index![key] = storage.count - 1  // index exists: checked on this line
        } else if storage.count > Self.indexThreshold {
            rebuildIndex()
        }
    }

    @usableFromInline
    mutating func rebuildIndex() {
        guard storage.count > Self.indexThreshold else {
            index = nil
            return
        }
        var built = [String: Int](minimumCapacity: storage.count)
        for (i, member) in storage.enumerated() { built[member.key] = i }
        index = built
    }
}

extension JSONObject: Hashable {
    /// Objects are equal when they have the same keys with equal values, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for member in lhs.storage {
            guard let other = rhs[member.key], other == member.value else { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent: combine per-member hashes commutatively.
        var combined = 0
        for member in storage {
            var h = Hasher()
            h.combine(member.key)
            h.combine(member.value)
            combined ^= h.finalize()
        }
        hasher.combine(count)
        hasher.combine(combined)
    }
}

extension JSONObject: Sequence {
    public func makeIterator() -> IndexingIterator<[Member]> { storage.makeIterator() }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, Value)...) {
        self.init(elements.map { Member(key: $0.0, value: $0.1) })
    }
}
