/// An MQTT topic filter, as written in a rule's FROM clause (`devices/+/telemetry`, `sensors/#`).
///
/// Syntax (MQTT 3.1.1 §4.7): levels are separated by `/`; `+` matches exactly one level and must
/// occupy a whole level; `#` must be the last level on its own. A filter that starts with a
/// wildcard never matches a topic that starts with `$` (such as `$aws/things/…`).
///
/// Rules match as AWS IoT does ("AWS IoT differences from MQTT version 3.1.1 specification"): `#`
/// matches one or more levels, so `sensor/#` matches `sensor/` and `sensor/a/b` but not `sensor`
/// (``matches(_:)``). A broker subscription to the same filter also gets `sensor`, as MQTT says
/// (``matchesAsSubscription(_:)``).
package struct TopicFilter: Sendable, Hashable, CustomStringConvertible {
    /// One level of a filter.
    package enum Level: Sendable, Hashable {
        case literal(String)
        case singleLevelWildcard
        case multiLevelWildcard
    }

    /// The filter as written.
    package let text: String
    /// The filter split into levels.
    package let levels: [Level]

    /// Why a filter is invalid.
    package struct Invalid: Error, Sendable, Hashable {
        package var message: String
        /// Byte offset in the filter text of the offending part.
        package var offset: Int
    }

    /// Parses and validates a filter.
    package init(_ text: String, limits: TopicLimits = TopicLimits()) throws(Invalid) {
        if text.isEmpty { throw Invalid(message: "the topic filter is empty", offset: 0) }
        if text.utf8.count > limits.maxBytes {
            throw Invalid(message: "the topic filter is longer than \(limits.maxBytes) bytes", offset: 0)
        }
        if text.utf8.contains(0) { throw Invalid(message: "the topic filter contains a NUL character", offset: 0) }
        var levels: [Level] = []
        var offset = 0
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        for (i, part) in parts.enumerated() {
            if part == "#" {
                guard i == parts.count - 1 else {
                    throw Invalid(message: "'#' must be the last level of a topic filter", offset: offset)
                }
                levels.append(.multiLevelWildcard)
            } else if part == "+" {
                levels.append(.singleLevelWildcard)
            } else {
                if let index = part.utf8.firstIndex(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "#") }) {
                    let within = part.utf8.distance(from: part.utf8.startIndex, to: index)
                    throw Invalid(
                        message: "a wildcard ('+' or '#') must occupy a whole topic level", offset: offset + within)
                }
                levels.append(.literal(String(part)))
            }
            offset += part.utf8.count + 1
        }
        let counted = levels.last == .multiLevelWildcard ? levels.count - 1 : levels.count
        if counted > limits.maxLevels {
            throw Invalid(message: "the topic filter has more than \(limits.maxLevels) levels", offset: 0)
        }
        self.text = text
        self.levels = levels
    }

    /// Whether the filter contains a wildcard.
    package var hasWildcards: Bool { levels.contains { !$0.isLiteral } }

    /// Whether a rule with this filter in its FROM clause is invoked by a message on `topic`, as in
    /// AWS IoT: a final `#` needs at least one level after the ones before it (`sensor/#` does not
    /// match `sensor`).
    package func matches(_ topic: String) -> Bool {
        matches(topic, hashMatchesParent: false)
    }

    /// Whether an MQTT subscription to this filter receives a message on `topic` (MQTT 3.1.1
    /// §4.7.1.2): as ``matches(_:)``, except that `sensor/#` also matches `sensor`.
    package func matchesAsSubscription(_ topic: String) -> Bool {
        matches(topic, hashMatchesParent: true)
    }

    private func matches(_ topic: String, hashMatchesParent: Bool) -> Bool {
        let topicLevels = topic.split(separator: "/", omittingEmptySubsequences: false)
        if topic.hasPrefix("$"), let first = levels.first, !first.isLiteral { return false }
        var i = 0
        for level in levels {
            switch level {
            case .multiLevelWildcard: return hashMatchesParent || i < topicLevels.count
            case .singleLevelWildcard:
                guard i < topicLevels.count else { return false }
            case .literal(let literal):
                guard i < topicLevels.count, topicLevels[i] == literal else { return false }
            }
            i += 1
        }
        return i == topicLevels.count
    }

    package var description: String { text }
}

extension TopicFilter.Level {
    /// Whether the level is a literal.
    package var isLiteral: Bool {
        if case .literal = self { return true }
        return false
    }
}

/// Limits on topic names (AWS IoT defaults).
package struct TopicLimits: Sendable, Hashable {
    /// The longest topic, in UTF-8 bytes.
    package var maxBytes: Int
    /// The most levels (slashes + 1) a topic may have.
    package var maxLevels: Int

    package init(maxBytes: Int = 256, maxLevels: Int = 8) {
        self.maxBytes = maxBytes
        self.maxLevels = maxLevels
    }
}

/// Validation of topic names that messages are published to.
package enum TopicName {
    /// Why a topic name is invalid.
    package struct Invalid: Error, Sendable, Hashable, CustomStringConvertible {
        package var message: String
        package var description: String { message }
    }

    /// Checks a topic a message is published to: non-empty, no wildcards, no NUL, within limits.
    ///
    /// The `$aws/…` reserved topics may be one level deeper than `maxLevels` allows for user topics.
    /// In a Basic Ingest topic (`$aws/rules/{rule}/{topic}`) the rule name must be a valid rule name
    /// and the limits apply to `{topic}` alone, as AWS IoT does not count the prefix against them.
    package static func validate(_ topic: String, limits: TopicLimits = TopicLimits()) throws(Invalid) {
        if BasicIngestTopic.isReserved(topic) {
            guard let routed = BasicIngestTopic(topic), !routed.topic.isEmpty else {
                throw Invalid(
                    message:
                        "a Basic Ingest topic is $aws/rules/{rule}/{topic}; the topic after the rule name is missing")
            }
            if let problem = routed.ruleNameProblem { throw Invalid(message: problem) }
            try validate(String(routed.topic), limits: limits)
            return
        }
        if topic.isEmpty { throw Invalid(message: "the topic is empty") }
        let utf8 = topic.utf8
        if utf8.count > limits.maxBytes { throw Invalid(message: "the topic is longer than \(limits.maxBytes) bytes") }
        var slashes = 0
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "+"), UInt8(ascii: "#"):
                throw Invalid(message: "the topic contains a wildcard ('+' or '#'); publish to a concrete topic")
            case 0: throw Invalid(message: "the topic contains a NUL character")
            case UInt8(ascii: "/"): slashes += 1
            default: break
            }
        }
        let reservedAllowance = topic.hasPrefix("$aws/") ? 3 : 0
        if slashes + 1 > limits.maxLevels + reservedAllowance {
            throw Invalid(message: "the topic has more than \(limits.maxLevels) levels")
        }
    }
}
