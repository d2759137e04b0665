/// The MQTT protocol versions Signalbox speaks: the value is the protocol level sent in CONNECT.
package enum ProtocolVersion: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// MQTT 3.1.1 (OASIS Standard, 2014).
    case v3_1_1 = 4
    /// MQTT 5.0 (OASIS Standard, 2019).
    case v5 = 5

    package var description: String { self == .v5 ? "5.0" : "3.1.1" }
}

/// A delivery guarantee.
package enum QoS: UInt8, Sendable, Comparable, CaseIterable {
    case atMostOnce = 0
    case atLeastOnce = 1
    case exactlyOnce = 2

    package static func < (lhs: QoS, rhs: QoS) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One MQTT control packet, as both versions carry it. Fields only MQTT 5 has (reason codes,
/// properties) stay at their defaults for 3.1.1, and the encoder leaves them out there.
package enum Packet: Sendable, Equatable {
    case connect(Connect)
    case connack(ConnAck)
    case publish(Publish)
    case puback(Acknowledgement)
    case pubrec(Acknowledgement)
    case pubrel(Acknowledgement)
    case pubcomp(Acknowledgement)
    case subscribe(Subscribe)
    case suback(SubAck)
    case unsubscribe(Unsubscribe)
    case unsuback(UnsubAck)
    case pingreq
    case pingresp
    case disconnect(Disconnect)
    /// MQTT 5 only: extended authentication.
    case auth(Auth)

    /// The packet type, as in the high nibble of the fixed header.
    package var kind: Kind {
        switch self {
        case .connect: .connect
        case .connack: .connack
        case .publish: .publish
        case .puback: .puback
        case .pubrec: .pubrec
        case .pubrel: .pubrel
        case .pubcomp: .pubcomp
        case .subscribe: .subscribe
        case .suback: .suback
        case .unsubscribe: .unsubscribe
        case .unsuback: .unsuback
        case .pingreq: .pingreq
        case .pingresp: .pingresp
        case .disconnect: .disconnect
        case .auth: .auth
        }
    }

    /// The control packet types.
    package enum Kind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        case connect = 1, connack, publish, puback, pubrec, pubrel, pubcomp, subscribe, suback
        case unsubscribe, unsuback, pingreq, pingresp, disconnect, auth

        package var description: String {
            switch self {
            case .connect: "CONNECT"
            case .connack: "CONNACK"
            case .publish: "PUBLISH"
            case .puback: "PUBACK"
            case .pubrec: "PUBREC"
            case .pubrel: "PUBREL"
            case .pubcomp: "PUBCOMP"
            case .subscribe: "SUBSCRIBE"
            case .suback: "SUBACK"
            case .unsubscribe: "UNSUBSCRIBE"
            case .unsuback: "UNSUBACK"
            case .pingreq: "PINGREQ"
            case .pingresp: "PINGRESP"
            case .disconnect: "DISCONNECT"
            case .auth: "AUTH"
            }
        }

        /// The flags the fixed header must carry (PUBLISH's are its own and not checked here).
        var requiredFlags: UInt8 {
            switch self {
            case .pubrel, .subscribe, .unsubscribe: 0b0010
            default: 0
            }
        }
    }
}

extension Packet {
    /// CONNECT: the first packet a client sends.
    package struct Connect: Sendable, Equatable {
        package var version: ProtocolVersion
        package var clientID: String
        /// 3.1.1 Clean Session; 5.0 Clean Start.
        package var cleanStart: Bool
        /// Seconds; 0 turns keep-alive off.
        package var keepAlive: UInt16
        package var username: String?
        package var password: [UInt8]?
        package var will: Will?
        package var properties: Properties

        package init(
            version: ProtocolVersion, clientID: String, cleanStart: Bool = true, keepAlive: UInt16 = 60,
            username: String? = nil, password: [UInt8]? = nil, will: Will? = nil, properties: Properties = []
        ) {
            self.version = version
            self.clientID = clientID
            self.cleanStart = cleanStart
            self.keepAlive = keepAlive
            self.username = username
            self.password = password
            self.will = will
            self.properties = properties
        }
    }

    /// The message the broker publishes when the client goes away without a DISCONNECT.
    package struct Will: Sendable, Equatable {
        package var topic: String
        package var payload: [UInt8]
        package var qos: QoS
        package var retain: Bool
        package var properties: Properties

        package init(
            topic: String, payload: [UInt8], qos: QoS = .atMostOnce, retain: Bool = false,
            properties: Properties = []
        ) {
            self.topic = topic
            self.payload = payload
            self.qos = qos
            self.retain = retain
            self.properties = properties
        }
    }

    /// CONNACK: the broker's answer to CONNECT. `reasonCode` is the 3.1.1 return code (0–5) or the
    /// 5.0 reason code.
    package struct ConnAck: Sendable, Equatable {
        package var sessionPresent: Bool
        package var reasonCode: UInt8
        package var properties: Properties

        package init(sessionPresent: Bool = false, reasonCode: UInt8 = 0, properties: Properties = []) {
            self.sessionPresent = sessionPresent
            self.reasonCode = reasonCode
            self.properties = properties
        }
    }

    /// PUBLISH, in either direction. `packetID` is set exactly when `qos` is above 0.
    package struct Publish: Sendable, Equatable {
        package var topic: String
        package var payload: [UInt8]
        package var qos: QoS
        package var retain: Bool
        package var duplicate: Bool
        package var packetID: UInt16?
        package var properties: Properties

        package init(
            topic: String, payload: [UInt8], qos: QoS = .atMostOnce, retain: Bool = false, duplicate: Bool = false,
            packetID: UInt16? = nil, properties: Properties = []
        ) {
            self.topic = topic
            self.payload = payload
            self.qos = qos
            self.retain = retain
            self.duplicate = duplicate
            self.packetID = packetID
            self.properties = properties
        }

        /// A 64-bit FNV-1a hash of the topic and payload, the same in every process: tells the broker's
        /// redelivery of a message from a different message under the same packet identifier.
        package var digest: UInt64 {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            func mix(_ byte: UInt8) {
                hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            }
            for byte in topic.utf8 { mix(byte) }
            mix(0xFF)  // never in UTF-8: the topic ends here
            for byte in payload { mix(byte) }
            return hash
        }
    }

    /// PUBACK, PUBREC, PUBREL and PUBCOMP: a packet identifier and, in 5.0, a reason.
    package struct Acknowledgement: Sendable, Equatable {
        package var packetID: UInt16
        package var reasonCode: UInt8
        package var properties: Properties

        package init(packetID: UInt16, reasonCode: UInt8 = 0, properties: Properties = []) {
            self.packetID = packetID
            self.reasonCode = reasonCode
            self.properties = properties
        }
    }

    /// One topic filter of a SUBSCRIBE with its options.
    package struct Subscription: Sendable, Equatable {
        package var filter: String
        package var qos: QoS
        /// 5.0: do not send back this client's own publishes.
        package var noLocal: Bool
        /// 5.0: keep the RETAIN flag as published.
        package var retainAsPublished: Bool
        /// 5.0: 0 send retained messages on subscribe, 1 only for a new subscription, 2 never.
        package var retainHandling: UInt8

        package init(
            filter: String, qos: QoS, noLocal: Bool = false, retainAsPublished: Bool = false, retainHandling: UInt8 = 0
        ) {
            self.filter = filter
            self.qos = qos
            self.noLocal = noLocal
            self.retainAsPublished = retainAsPublished
            self.retainHandling = retainHandling
        }
    }

    package struct Subscribe: Sendable, Equatable {
        package var packetID: UInt16
        package var subscriptions: [Subscription]
        package var properties: Properties

        package init(packetID: UInt16, subscriptions: [Subscription], properties: Properties = []) {
            self.packetID = packetID
            self.subscriptions = subscriptions
            self.properties = properties
        }
    }

    /// SUBACK: one return or reason code per filter, in order (granted QoS, or 0x80 and up for a refusal).
    package struct SubAck: Sendable, Equatable {
        package var packetID: UInt16
        package var reasonCodes: [UInt8]
        package var properties: Properties

        package init(packetID: UInt16, reasonCodes: [UInt8], properties: Properties = []) {
            self.packetID = packetID
            self.reasonCodes = reasonCodes
            self.properties = properties
        }
    }

    package struct Unsubscribe: Sendable, Equatable {
        package var packetID: UInt16
        package var filters: [String]
        package var properties: Properties

        package init(packetID: UInt16, filters: [String], properties: Properties = []) {
            self.packetID = packetID
            self.filters = filters
            self.properties = properties
        }
    }

    /// UNSUBACK: in 5.0, one reason code per filter; in 3.1.1 just the packet identifier.
    package struct UnsubAck: Sendable, Equatable {
        package var packetID: UInt16
        package var reasonCodes: [UInt8]
        package var properties: Properties

        package init(packetID: UInt16, reasonCodes: [UInt8] = [], properties: Properties = []) {
            self.packetID = packetID
            self.reasonCodes = reasonCodes
            self.properties = properties
        }
    }

    /// DISCONNECT: empty in 3.1.1; a reason in 5.0, in either direction.
    package struct Disconnect: Sendable, Equatable {
        package var reasonCode: UInt8
        package var properties: Properties

        package init(reasonCode: UInt8 = 0, properties: Properties = []) {
            self.reasonCode = reasonCode
            self.properties = properties
        }
    }

    package struct Auth: Sendable, Equatable {
        package var reasonCode: UInt8
        package var properties: Properties

        package init(reasonCode: UInt8 = 0, properties: Properties = []) {
            self.reasonCode = reasonCode
            self.properties = properties
        }
    }
}
