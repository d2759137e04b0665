/// Maps topic filters to values and finds, for a topic, the values of every matching filter.
///
/// A lookup walks the topic's levels once, byte by byte, following the literal, `+` and `#`
/// branches; its cost grows with the topic's depth and the number of matching filters, not with
/// the number of filters stored. Values come back in insertion order. The trie is a value type
/// of flat arrays, so copies are cheap and lookups allocate nothing but the result. Filters match
/// as ``TopicFilter/matches(_:)`` says (AWS IoT: `sensor/#` does not match `sensor`).
///
/// For example:
/// ```swift
/// var trie = TopicTrie<String>()
/// trie.insert(try TopicFilter("devices/+/telemetry"), "r1")
/// trie.matches("devices/f1/telemetry")  // ["r1"]
/// ```
package struct TopicTrie<Element: Sendable>: Sendable {
    var index = TopicIndex()
    /// Every inserted element, by insertion number.
    var elements: [Element] = []

    package init() {}

    /// The number of filters inserted.
    package var filterCount: Int { elements.count }

    /// Adds `element` under `filter`.
    package mutating func insert(_ filter: TopicFilter, _ element: Element) {
        index.insert(filter)
        elements.append(element)
    }

    /// The elements of every filter matching `topic`, in insertion order.
    package func matches(_ topic: String) -> [Element] {
        var numbers: [Int32] = []
        index.collectMatches(topic, into: &numbers)
        return numbers.map { elements[Int($0)] }
    }

    /// Replaces the contents of `numbers` with the insertion numbers (0-based, ascending) of the
    /// filters matching `topic`; reusing the buffer makes a lookup allocation-free.
    package func collectMatches(_ topic: String, into numbers: inout [Int32]) {
        index.collectMatches(topic, into: &numbers)
    }

    /// The element inserted with insertion number `number`.
    package func element(_ number: Int32) -> Element { elements[Int(number)] }
}

/// The matching machinery of ``TopicTrie``, independent of the element type so it compiles to
/// concrete, specialised code: filters are numbered in insertion order.
package struct TopicIndex: Sendable {
    struct Node: Sendable {
        /// Literal children: (hash of the level, the level's bytes, node index).
        var children: [(hash: UInt64, level: [UInt8], node: Int32)] = []
        /// For nodes with many children: hash → positions in `children`.
        var index: [UInt64: [Int32]]?
        /// The `+` child.
        var plus: Int32 = -1
        /// Insertion numbers of filters ending in `#` here.
        var hashEntries: [Int32] = []
        /// Insertion numbers of filters ending exactly here.
        var entries: [Int32] = []
    }

    /// Nodes with more literal children than this keep a hash index.
    static var indexThreshold: Int { 8 }

    var nodes: [Node] = [Node()]
    var count: Int32 = 0

    package init() {}

    /// Adds `filter`; returns its insertion number.
    @discardableResult
    package mutating func insert(_ filter: TopicFilter) -> Int32 {
        let number = count
        count += 1
        var node = 0
        for level in filter.levels {
            switch level {
            case .multiLevelWildcard:
                nodes[node].hashEntries.append(number)
                return number
            case .singleLevelWildcard:
                if nodes[node].plus < 0 {
                    nodes.append(Node())
                    nodes[node].plus = Int32(nodes.count - 1)
                }
                node = Int(nodes[node].plus)
            case .literal(let literal):
                let bytes = Array(literal.utf8)
                let hash = bytes.withUnsafeBufferPointer { Self.hash($0[...]) }
                if let child = child(of: node, hash: hash, level: bytes) {
                    node = child
                } else {
                    nodes.append(Node())
                    let child = Int32(nodes.count - 1)
                    nodes[node].children.append((hash, bytes, child))
                    let position = Int32(nodes[node].children.count - 1)
                    if nodes[node].index != nil {
                        nodes[node].index![hash, default: []].append(position)  // non-nil: checked above
                    } else if nodes[node].children.count > Self.indexThreshold {
                        rebuildIndex(of: node)
                    }
                    node = Int(child)
                }
            }
        }
        nodes[node].entries.append(number)
        return number
    }

    private mutating func rebuildIndex(of node: Int) {
        var index: [UInt64: [Int32]] = [:]
        for (position, child) in nodes[node].children.enumerated() {
            index[child.hash, default: []].append(Int32(position))
        }
        nodes[node].index = index
    }

    private func child(of node: Int, hash: UInt64, level: [UInt8]) -> Int? {
        level.withUnsafeBufferPointer { child(of: node, hash: hash, level: $0[...]) }
    }

    @inline(__always)
    private func child(of node: Int, hash: UInt64, level: Slice<UnsafeBufferPointer<UInt8>>) -> Int? {
        if let index = nodes[node].index {
            guard let positions = index[hash] else { return nil }
            for position in positions where nodes[node].children[Int(position)].level.elementsEqual(level) {
                return Int(nodes[node].children[Int(position)].node)
            }
            return nil
        }
        for child in nodes[node].children where child.hash == hash && child.level.elementsEqual(level) {
            return Int(child.node)
        }
        return nil
    }

    /// FNV-1a over a level's bytes.
    @inline(__always)
    static func hash(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return hash
    }

    /// Replaces the contents of `numbers` with the insertion numbers (ascending) of the filters
    /// matching `topic`.
    package func collectMatches(_ topic: String, into numbers: inout [Int32]) {
        numbers.removeAll(keepingCapacity: true)
        var topic = topic
        topic.withUTF8 { bytes in
            let isSystem = bytes.first == UInt8(ascii: "$")
            collect(node: 0, bytes: bytes, from: 0, isFirst: true, isSystem: isSystem, into: &numbers)
        }
        if numbers.count > 1 { numbers.sort() }
    }

    private func collect(
        node: Int, bytes: UnsafeBufferPointer<UInt8>, from start: Int, isFirst: Bool, isSystem: Bool,
        into numbers: inout [Int32]
    ) {
        let wildcardsAllowed = !(isFirst && isSystem)
        // start == bytes.count + 1 means every level has been consumed. A `#` here needs a level
        // left to match (AWS IoT: `sensor/#` matches `sensor/` but not `sensor`).
        if wildcardsAllowed && start <= bytes.count && !nodes[node].hashEntries.isEmpty {
            numbers.append(contentsOf: nodes[node].hashEntries)
        }
        if start > bytes.count {
            numbers.append(contentsOf: nodes[node].entries)
            return
        }
        var end = start
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        while end < bytes.count && bytes[end] != UInt8(ascii: "/") {
            hash = (hash ^ UInt64(bytes[end])) &* 0x0000_0100_0000_01b3
            end += 1
        }
        let next = end + 1
        if !nodes[node].children.isEmpty, let child = child(of: node, hash: hash, level: bytes[start..<end]) {
            collect(node: child, bytes: bytes, from: next, isFirst: false, isSystem: isSystem, into: &numbers)
        }
        let plus = nodes[node].plus
        if wildcardsAllowed && plus >= 0 {
            collect(node: Int(plus), bytes: bytes, from: next, isFirst: false, isSystem: isSystem, into: &numbers)
        }
    }
}
