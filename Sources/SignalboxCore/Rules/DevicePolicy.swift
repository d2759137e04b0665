import SignalboxSQL

/// How messages are grouped by device: which part of a topic names the device (the key that orders
/// messages into lanes), and when a device counts as silent (`devices:` in rules.yaml).
///
/// ```swift
/// let policy = DevicePolicy(keyLevel: 4)
/// policy.deviceKey(forTopic: "gateways/gw1/devices/f1/telemetry")  // "f1"
/// policy.deviceKey(forTopic: "$aws/things/f1/shadow/update")       // "f1"
/// policy.deviceKey(forTopic: "alerts")                             // "alerts"
/// ```
package struct DevicePolicy: Sendable, Hashable {
    /// The topic level (1-based, like `topic(n)`) that names the device; nil keys by the whole topic.
    package var keyLevel: Int?
    /// How long a device may stay quiet before its `silent` event is published; nil: never.
    package var silentAfter: Duration?

    /// The most levels a topic has, so the most `keyLevel` can be.
    package static let maxKeyLevel = 8

    /// The topic prefix of the events Signalbox publishes about devices.
    package static let eventsPrefix = "$signalbox/events/devices/"

    /// A policy; by default keyed by the whole topic, without silence events.
    package init(keyLevel: Int? = nil, silentAfter: Duration? = nil) {
        self.keyLevel = keyLevel
        self.silentAfter = silentAfter
    }

    /// The device key of a message on `topic`: the thing of `$aws/things/{thing}/…`, the device of
    /// `$signalbox/events/devices/{device}/…`, else level ``keyLevel`` (the whole topic when the
    /// topic is shorter or no level is set). A Basic Ingest topic (`$aws/rules/{rule}/{topic}`) is
    /// keyed by its `{topic}`, as `topic(n)` reads it.
    package func deviceKey(forTopic topic: String) -> String {
        if let routed = BasicIngestTopic(topic) { return deviceKey(forTopic: String(routed.topic)) }
        let utf8 = topic.utf8
        if utf8.first == UInt8(ascii: "$") {
            if topic.hasPrefix("$aws/things/") { return Self.level(3, of: topic) ?? topic }
            if topic.hasPrefix(Self.eventsPrefix) { return Self.level(4, of: topic) ?? topic }
        }
        guard let keyLevel else { return topic }
        return Self.level(keyLevel, of: topic) ?? topic
    }

    /// The device a gateway's message on `topic` is for: level ``keyLevel``, or nil when no level is
    /// set, the topic has fewer levels, that level is empty, or the topic is reserved (`$…`).
    ///
    /// ```swift
    /// DevicePolicy(keyLevel: 4).device(inTopic: "gateways/gw1/devices/f1/telemetry")  // "f1"
    /// DevicePolicy(keyLevel: 4).device(inTopic: "gateways/gw1/status")                // nil
    /// ```
    /// A Basic Ingest topic (`$aws/rules/{rule}/{topic}`) names the device of its `{topic}`.
    package func device(inTopic topic: String) -> String? {
        if let routed = BasicIngestTopic(topic) { return device(inTopic: String(routed.topic)) }
        guard let keyLevel, topic.utf8.first != UInt8(ascii: "$") else { return nil }
        return Self.level(keyLevel, of: topic)
    }

    /// Level `n` (1-based) of `topic`, or nil when it has fewer levels or that level is empty.
    static func level(_ n: Int, of topic: String) -> String? {
        var level = 1
        var start = topic.utf8.startIndex
        var index = start
        let end = topic.utf8.endIndex
        while index != end {
            if topic.utf8[index] == UInt8(ascii: "/") {
                if level == n { break }
                level += 1
                start = topic.utf8.index(after: index)
            }
            index = topic.utf8.index(after: index)
        }
        guard level == n, start != index else { return nil }
        return String(topic[start..<index])
    }

    /// The topic of the event saying `device` has gone silent.
    package static func silentTopic(_ device: String) -> String { eventsPrefix + device + "/silent" }
    /// The topic of the event saying `device` reports again.
    package static func onlineTopic(_ device: String) -> String { eventsPrefix + device + "/online" }
}
