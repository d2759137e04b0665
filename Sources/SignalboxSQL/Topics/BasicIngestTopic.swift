/// A Basic Ingest topic, `$aws/rules/{rule}/{topic}`: a message published to it invokes the rule
/// named `rule` alone, whatever its FROM clause, and rules see `topic` as the message's topic
/// (AWS IoT developer guide, "Reducing messaging costs with Basic Ingest").
///
/// For example:
/// ```swift
/// let routed = BasicIngestTopic("$aws/rules/BuildingManager/Buildings/Building5/Lights")
/// routed?.ruleName  // "BuildingManager"
/// routed?.topic     // "Buildings/Building5/Lights"
/// BasicIngestTopic("Buildings/Building5/Lights")  // nil
/// ```
package struct BasicIngestTopic: Sendable, Hashable {
    /// The prefix every Basic Ingest topic starts with.
    package static let prefix = "$aws/rules/"

    /// The rule the message is for: the third level (it may be empty or invalid; see ``ruleNameProblem``).
    package var ruleName: Substring
    /// The topic after the rule name: what `topic()` returns and what the message is about.
    package var topic: Substring

    /// Splits `topic` when it starts with `$aws/rules/{rule}/`; nil otherwise (`$aws/rules/r` alone,
    /// without a topic after the rule name, is not one).
    package init?(_ topic: String) {
        // Most topics do not start with `$`: one byte decides (this runs several times per message).
        guard topic.utf8.first == UInt8(ascii: "$"), topic.utf8.starts(with: Self.prefix.utf8) else { return nil }
        let afterPrefix = topic.utf8.index(topic.utf8.startIndex, offsetBy: Self.prefix.utf8.count)
        guard let slash = topic.utf8[afterPrefix...].firstIndex(of: UInt8(ascii: "/")) else { return nil }
        self.ruleName = topic[afterPrefix..<slash]
        self.topic = topic[topic.utf8.index(after: slash)...]
    }

    /// Why ``ruleName`` cannot name a rule (see ``RuleName``), or nil when it can. The name itself is
    /// not repeated: it comes from outside.
    package var ruleNameProblem: String? {
        if ruleName.isEmpty { return "the rule name of the Basic Ingest topic $aws/rules/{rule}/{topic} is empty" }
        if ruleName.utf8.count > RuleName.maxBytes {
            return "the rule name of the Basic Ingest topic is longer than \(RuleName.maxBytes) characters"
        }
        let valid = ruleName.utf8.allSatisfy(RuleName.isNameByte)
        return valid ? nil : "the rule name of a Basic Ingest topic may only contain letters, digits, '_' and '-'"
    }

    /// Whether `topic` starts with `$aws/rules/`, so is meant as a Basic Ingest topic (well formed or not).
    package static func isReserved(_ topic: String) -> Bool {
        topic.utf8.starts(with: prefix.utf8)
    }

    /// The topic rules see for a message published to `topic`: the part after the Basic Ingest
    /// prefix, or `topic` itself.
    package static func effectiveTopic(_ topic: String) -> Substring {
        BasicIngestTopic(topic)?.topic ?? topic[...]
    }
}
