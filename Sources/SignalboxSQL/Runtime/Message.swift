import SignalboxJSON

/// A message as rules see it: its topic, payload and what the transport knows of its sender.
public struct Message: Sendable {
    /// A payload that parsed as JSON, or raw bytes that did not.
    public enum Payload: Sendable, Hashable {
        case json(Value)
        case binary([UInt8])
    }

    /// The topic it was published to.
    public var topic: String
    /// The payload bytes exactly as received (what `encode(*, 'base64')` encodes).
    public let rawPayload: [UInt8]
    /// Where the payload's top-level members are, when the payload is a JSON document; nil for a
    /// binary payload. Rules decode only the members they read (see ``EvaluationFrame``).
    public let layout: JSONLayout?
    /// Milliseconds since the Unix epoch at which the message was received (`timestamp()`).
    public var timestamp: Int64

    /// What the transport knows of the sender, kept in one box so copying a message (which the
    /// hot path does) costs one retain for all of it.
    final class Sender: Sendable {
        let clientID: String?
        let principal: String?
        let traceID: String?
        let accountID: String?
        let sourceIP: String?
        let mqttProperties: [String: String]
        let userProperties: [(name: String, value: String)]

        init(
            clientID: String?, principal: String?, traceID: String?, accountID: String?, sourceIP: String?,
            mqttProperties: [String: String], userProperties: [(name: String, value: String)]
        ) {
            self.clientID = clientID
            self.principal = principal
            self.traceID = traceID
            self.accountID = accountID
            self.sourceIP = sourceIP
            self.mqttProperties = mqttProperties
            self.userProperties = userProperties
        }
    }

    /// Nil when nothing is known of the sender.
    let sender: Sender?

    /// The MQTT client id of the publisher (`clientid()`), if known.
    public var clientID: String? { sender?.clientID }
    /// The authenticated identity of the publisher (`principal()`), if known.
    public var principal: String? { sender?.principal }
    /// A trace id for the message (`traceid()`), if one was assigned.
    public var traceID: String? { sender?.traceID }
    /// The account the message was received for (`accountid()`), if one is set.
    public var accountID: String? { sender?.accountID }
    /// The source IP address of the publisher (`sourceip()`), if known.
    public var sourceIP: String? { sender?.sourceIP }
    /// MQTT 5 properties (`get_mqtt_property`): `content_type`, `format_indicator`,
    /// `response_topic`, `correlation_data` (base64).
    public var mqttProperties: [String: String] { sender?.mqttProperties ?? [:] }
    /// MQTT 5 user properties, in order (`get_user_properties`).
    public var userProperties: [(name: String, value: String)] { sender?.userProperties ?? [] }

    /// A message from raw payload bytes: JSON if they are one JSON document, binary otherwise.
    ///
    /// The payload is validated and its top-level members located, but no value is built.
    public init(
        topic: String, payload bytes: [UInt8], clientID: String? = nil, principal: String? = nil,
        timestamp: Int64, traceID: String? = nil, accountID: String? = nil, sourceIP: String? = nil,
        mqttProperties: [String: String] = [:], userProperties: [(name: String, value: String)] = []
    ) {
        self.topic = topic
        self.rawPayload = bytes
        self.layout = JSONLayout(validating: bytes)
        self.timestamp = timestamp
        let knowsSender =
            clientID != nil || principal != nil || traceID != nil || accountID != nil || sourceIP != nil
            || !mqttProperties.isEmpty || !userProperties.isEmpty
        self.sender =
            knowsSender
            ? Sender(
                clientID: clientID, principal: principal, traceID: traceID, accountID: accountID, sourceIP: sourceIP,
                mqttProperties: mqttProperties, userProperties: userProperties) : nil
    }

    /// A message whose payload is a JSON value.
    public init(
        topic: String, json: Value, clientID: String? = nil, principal: String? = nil, timestamp: Int64,
        traceID: String? = nil
    ) {
        self.init(
            topic: topic, payload: JSONSerializer.bytes(json), clientID: clientID, principal: principal,
            timestamp: timestamp, traceID: traceID)
    }

    /// Whether the payload is a JSON document.
    public var isJSON: Bool { layout != nil }

    /// The payload decoded: the JSON value, or the bytes of a binary payload. This decodes the
    /// whole document each time; rules use ``EvaluationFrame``, which decodes once and lazily.
    public var payload: Payload {
        if let json { return .json(json) }
        return .binary(rawPayload)
    }

    /// The whole JSON payload decoded, or nil for a binary payload.
    public var json: Value? {
        guard layout != nil else { return nil }
        return try? JSONParser.parse(rawPayload)
    }
}
