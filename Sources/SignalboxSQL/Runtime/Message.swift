import SignalboxJSON

/// A message as rules see it: its topic, payload and what the transport knows of its sender.
package struct Message: Sendable {
    /// A payload that parsed as JSON, or raw bytes that did not.
    package enum Payload: Sendable, Hashable {
        case json(Value)
        case binary([UInt8])
    }

    /// The topic it was published to.
    package var topic: String
    /// The payload bytes exactly as received (what `encode(*, 'base64')` encodes).
    package let rawPayload: [UInt8]
    /// Where the payload's top-level members are, when the payload is a JSON document; nil for a
    /// binary payload. Rules decode only the members they read (see ``EvaluationFrame``).
    package let layout: JSONLayout?
    /// Milliseconds since the Unix epoch at which the message was received (`timestamp()`).
    package var timestamp: Int64

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
    package var clientID: String? { sender?.clientID }
    /// The authenticated identity of the publisher (`principal()`), if known.
    package var principal: String? { sender?.principal }
    /// A trace id for the message (`traceid()`), if one was assigned.
    package var traceID: String? { sender?.traceID }
    /// The account the message was received for (`accountid()`), if one is set.
    package var accountID: String? { sender?.accountID }
    /// The source IP address of the publisher (`sourceip()`), if known.
    package var sourceIP: String? { sender?.sourceIP }
    /// MQTT 5 properties (`get_mqtt_property`): `content_type`, `format_indicator`,
    /// `response_topic`, `correlation_data` (base64).
    package var mqttProperties: [String: String] { sender?.mqttProperties ?? [:] }
    /// MQTT 5 user properties, in order (`get_user_properties`).
    package var userProperties: [(name: String, value: String)] { sender?.userProperties ?? [] }

    /// A message from raw payload bytes: JSON if they are one JSON document, binary otherwise.
    ///
    /// The payload is validated and its top-level members located, but no value is built.
    package init(
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
    package init(
        topic: String, json: Value, clientID: String? = nil, principal: String? = nil, timestamp: Int64,
        traceID: String? = nil
    ) {
        self.init(
            topic: topic, payload: JSONSerializer.bytes(json), clientID: clientID, principal: principal,
            timestamp: timestamp, traceID: traceID)
    }

    /// Whether the payload is a JSON document.
    package var isJSON: Bool { layout != nil }

    /// The payload decoded: the JSON value, or the bytes of a binary payload. This decodes the
    /// whole document each time; rules use ``EvaluationFrame``, which decodes once and lazily.
    package var payload: Payload {
        if let json { return .json(json) }
        return .binary(rawPayload)
    }

    /// The whole JSON payload decoded, or nil for a binary payload.
    package var json: Value? {
        guard layout != nil else { return nil }
        return try? JSONParser.parse(rawPayload)
    }
}
