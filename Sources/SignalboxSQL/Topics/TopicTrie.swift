/// Maps topic filters to values and finds, for a topic, the values of every matching filter.
///
/// Cost of a lookup grows with the topic's depth and the number of matching filters, not with the
/// number of filters stored. Values come back in insertion order.
///
/// For example:
/// ```swift
/// var trie = TopicTrie<String>()
/// trie.insert(try TopicFilter("devices/+/telemetry"), "r1")
/// trie.matches("devices/f1/telemetry")  // ["r1"]
/// ```
public struct TopicTrie<Element: Sendable>: Sendable {
    final class Node: @unchecked Sendable {
        // Mutated only while the trie is built (copy-on-write through `insert`); read-only after.
        var children: [Substring: Node] = [:]
        var plus: Node?
        var hashEntries: [(order: Int, element: Element)] = []
        var entries: [(order: Int, element: Element)] = []

        func copy() -> Node {
            let node = Node()
            node.children = children.mapValues { $0.copy() }
            node.plus = plus?.copy()
            node.hashEntries = hashEntries
            node.entries = entries
            return node
        }
    }

    var root = Node()
    var count = 0

    public init() {}

    /// Adds `element` under `filter`.
    public mutating func insert(_ filter: TopicFilter, _ element: Element) {
        if !isKnownUniquelyReferenced(&root) { root = root.copy() }
        var node = root
        let order = count
        count += 1
        for level in filter.levels {
            switch level {
            case .multiLevelWildcard:
                node.hashEntries.append((order, element))
                return
            case .singleLevelWildcard:
                if node.plus == nil { node.plus = Node() }
                node = node.plus!  // created on the line above
            case .literal(let literal):
                let key = Substring(literal)
                if let child = node.children[key] {
                    node = child
                } else {
                    let child = Node()
                    node.children[key] = child
                    node = child
                }
            }
        }
        node.entries.append((order, element))
    }

    /// The number of filters inserted.
    public var filterCount: Int { count }

    /// The elements of every filter matching `topic`, in insertion order.
    public func matches(_ topic: String) -> [Element] {
        var found: [(order: Int, element: Element)] = []
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        let isSystem = topic.utf8.first == UInt8(ascii: "$")
        Self.collect(root, levels[...], isFirst: true, isSystem: isSystem, into: &found)
        if found.count > 1 { found.sort { $0.order < $1.order } }
        return found.map(\.element)
    }

    private static func collect(
        _ node: Node, _ levels: ArraySlice<Substring>, isFirst: Bool, isSystem: Bool,
        into found: inout [(order: Int, element: Element)]
    ) {
        let wildcardsAllowed = !(isFirst && isSystem)
        if wildcardsAllowed { found.append(contentsOf: node.hashEntries) }
        guard let level = levels.first else {
            found.append(contentsOf: node.entries)
            return
        }
        let rest = levels.dropFirst()
        if let child = node.children[level] {
            collect(child, rest, isFirst: false, isSystem: isSystem, into: &found)
        }
        if wildcardsAllowed, let plus = node.plus {
            collect(plus, rest, isFirst: false, isSystem: isSystem, into: &found)
        }
    }
}
