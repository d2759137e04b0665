import SignalboxSQL

/// The topics a gateway may publish to: the configured filters with `{gateway}` replaced by its name.
///
/// A filter whose wildcard is only a final `#` (the default `gateways/{gateway}/#`) is checked as a
/// prefix, without splitting the topic, since it is checked for every message of a batch.
///
/// For example:
/// ```swift
/// let scope = try PublishScope(filters: ["gateways/{gateway}/#"], gateway: "gw-01")
/// scope.allows("gateways/gw-01/devices/f1/telemetry")   // true
/// scope.allows("gateways/gw-02/devices/f9/telemetry")   // false
/// ```
package struct PublishScope: Sendable {
    /// The placeholder replaced by the gateway's name.
    package static let placeholder = "{gateway}"

    private enum Check: Sendable {
        /// `prefix/#`: the topic is `prefix` or starts with `prefix/`.
        case prefix([UInt8])
        /// A topic filter with other wildcards, or none.
        case filter(TopicFilter)
    }

    private let checks: [Check]
    /// The filters, as applied to this gateway.
    package let filters: [String]

    /// The scope of `gateway` under `filters`.
    ///
    /// - Throws: `TopicFilter.Invalid` when a filter is not a valid topic filter.
    package init(filters: [String], gateway: String) throws(TopicFilter.Invalid) {
        var checks: [Check] = []
        var applied: [String] = []
        for template in filters {
            let text = template.replacing(Self.placeholder, with: gateway)
            let filter = try TopicFilter(text)
            applied.append(text)
            if filter.levels.last == .multiLevelWildcard, filter.levels.dropLast().allSatisfy(\.isLiteral) {
                checks.append(.prefix(Array(text.utf8.dropLast(2))))
            } else {
                checks.append(.filter(filter))
            }
        }
        self.checks = checks
        self.filters = applied
    }

    /// Whether `topic` matches one of the filters.
    package func allows(_ topic: String) -> Bool {
        for check in checks {
            switch check {
            case .prefix(let prefix):
                if Self.hasLevelPrefix(topic, prefix) { return true }
            case .filter(let filter):
                if filter.matchesAsSubscription(topic) { return true }
            }
        }
        return false
    }

    /// Whether `topic` is `prefix` or starts with `prefix/` (an empty prefix is the filter `#`, which
    /// matches every topic not starting with `$`).
    /// The gateway a message on `topic` comes from, by the first of `filters` (templates with
    /// ``placeholder`` as a whole level) that the topic matches with any gateway in that level; nil
    /// when none does. Used for MQTT, where the broker's ACL keeps each gateway to its own topics.
    ///
    /// ```swift
    /// PublishScope.gateway(ofTopic: "gateways/gw1/devices/f1/telemetry", filters: ["gateways/{gateway}/#"])  // "gw1"
    /// ```
    package static func gateway(ofTopic topic: String, filters: [String]) -> String? {
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        for template in filters {
            let pattern = template.split(separator: "/", omittingEmptySubsequences: false)
            guard let at = pattern.firstIndex(where: { $0 == placeholder }), at < levels.count, !levels[at].isEmpty
            else { continue }
            var matched = true
            for (index, part) in pattern.enumerated() {
                if part == "#" { break }
                guard index < levels.count else {
                    matched = false
                    break
                }
                if part == "+" || index == at { continue }
                if part != levels[index] {
                    matched = false
                    break
                }
            }
            if matched && (pattern.last == "#" || pattern.count == levels.count) { return String(levels[at]) }
        }
        return nil
    }

    private static func hasLevelPrefix(_ topic: String, _ prefix: [UInt8]) -> Bool {
        var topic = topic
        return topic.withUTF8 { bytes in
            if prefix.isEmpty { return bytes.first != UInt8(ascii: "$") }
            guard bytes.count >= prefix.count else { return false }
            for i in 0..<prefix.count where bytes[i] != prefix[i] { return false }
            return bytes.count == prefix.count || bytes[prefix.count] == UInt8(ascii: "/")
        }
    }
}
