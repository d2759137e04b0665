import SignalboxSQL

/// A measurement prototype, not product code: `TopicTrie` with the changes proposed in
/// docs/benchmarks.md — not generic (rule indices are `Int`s, and the index is the insertion
/// order), levels found by scanning UTF-8 instead of `split` on `Character`s, no key path, and a
/// sort of plain integers only when several branches matched. Same matching rules as
/// `TopicTrie`, including `$` topics not matching a leading wildcard.
public final class PrototypeTopicTrie: @unchecked Sendable {  // built once, then only read
    final class Node {
        var children: [Substring: Node] = [:]
        var plus: Node?
        var hashEntries: [Int] = []
        var entries: [Int] = []
    }

    let root = Node()

    public init() {}

    /// Adds rule `index` under `filter`; indices must be inserted in increasing order.
    public func insert(_ filter: TopicFilter, _ index: Int) {
        var node = root
        for level in filter.levels {
            switch level {
            case .multiLevelWildcard:
                node.hashEntries.append(index)
                return
            case .singleLevelWildcard:
                let next = node.plus ?? Node()
                node.plus = next
                node = next
            case .literal(let literal):
                let key = Substring(literal)
                let next = node.children[key] ?? Node()
                node.children[key] = next
                node = next
            }
        }
        node.entries.append(index)
    }

    /// The indices of every filter matching `topic`, in insertion order, into `found`.
    public func matches(_ topic: String, into found: inout [Int]) {
        found.removeAll(keepingCapacity: true)
        let isSystem = topic.utf8.first == UInt8(ascii: "$")
        collect(root, topic, from: topic.startIndex, isFirst: true, isSystem: isSystem, into: &found)
        if found.count > 1 { found.sort() }
    }

    private func collect(
        _ node: Node, _ topic: String, from start: String.Index?, isFirst: Bool, isSystem: Bool,
        into found: inout [Int]
    ) {
        let wildcardsAllowed = !(isFirst && isSystem)
        if wildcardsAllowed { found.append(contentsOf: node.hashEntries) }
        guard let start else {
            found.append(contentsOf: node.entries)
            return
        }
        let utf8 = topic.utf8
        let slash = utf8[start...].firstIndex(of: UInt8(ascii: "/"))
        let level = topic[start..<(slash ?? topic.endIndex)]
        let next = slash.map { utf8.index(after: $0) }
        if let child = node.children[level] {
            collect(child, topic, from: next, isFirst: false, isSystem: isSystem, into: &found)
        }
        if wildcardsAllowed, let plus = node.plus {
            collect(plus, topic, from: next, isFirst: false, isSystem: isSystem, into: &found)
        }
    }
}
