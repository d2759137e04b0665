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
    /// The decoded payload.
    public var payload: Payload
    /// The payload bytes exactly as received (what `encode(*, 'base64')` encodes).
    public var rawPayload: [UInt8]
    /// The MQTT client id of the publisher (`clientid()`), if known.
    public var clientID: String?
    /// The authenticated identity of the publisher (`principal()`), if known.
    public var principal: String?
    /// Milliseconds since the Unix epoch at which the message was received (`timestamp()`).
    public var timestamp: Int64
    /// A trace id for the message (`traceid()`), if one was assigned.
    public var traceID: String?
    /// The source IP address of the publisher (`sourceip()`), if known.
    public var sourceIP: String?
    /// MQTT 5 properties (`get_mqtt_property`): `content_type`, `format_indicator`,
    /// `response_topic`, `correlation_data` (base64).
    public var mqttProperties: [String: String]
    /// MQTT 5 user properties, in order (`get_user_properties`).
    public var userProperties: [(name: String, value: String)]

    /// A message from raw payload bytes: JSON if they parse as JSON, binary otherwise.
    public init(
        topic: String, payload bytes: [UInt8], clientID: String? = nil, principal: String? = nil,
        timestamp: Int64, traceID: String? = nil, sourceIP: String? = nil,
        mqttProperties: [String: String] = [:], userProperties: [(name: String, value: String)] = []
    ) {
        self.topic = topic
        self.rawPayload = bytes
        if let value = try? JSONParser.parse(bytes) {
            self.payload = .json(value)
        } else {
            self.payload = .binary(bytes)
        }
        self.clientID = clientID
        self.principal = principal
        self.timestamp = timestamp
        self.traceID = traceID
        self.sourceIP = sourceIP
        self.mqttProperties = mqttProperties
        self.userProperties = userProperties
    }

    /// A message whose payload is already decoded JSON.
    public init(
        topic: String, json: Value, clientID: String? = nil, principal: String? = nil, timestamp: Int64,
        traceID: String? = nil
    ) {
        self.topic = topic
        self.payload = .json(json)
        self.rawPayload = JSONSerializer.bytes(json)
        self.clientID = clientID
        self.principal = principal
        self.timestamp = timestamp
        self.traceID = traceID
        self.sourceIP = nil
        self.mqttProperties = [:]
        self.userProperties = []
    }

    /// The JSON payload, or `nil` for a binary payload.
    public var json: Value? {
        if case .json(let value) = payload { return value }
        return nil
    }
}
