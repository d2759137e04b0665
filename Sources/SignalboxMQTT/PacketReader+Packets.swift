extension PacketReader {
    mutating func connect() throws(MQTTProtocolError) -> Packet.Connect {
        let name = try string("the protocol name")
        let level = try byte("the protocol level")
        guard name == "MQTT", let version = ProtocolVersion(rawValue: level) else {
            throw MQTTProtocolError(
                reasonCode: 0x84, "Unsupported protocol: \(name) level \(level); MQTT 3.1.1 (4) and 5.0 (5) are spoken")
        }
        guard version == self.version else {
            throw .protocolError("CONNECT is MQTT \(version) but this connection speaks \(self.version)")
        }
        let flags = try byte("the connect flags")
        if flags & 0x01 != 0 { throw .malformed("the reserved connect flag is set") }
        let hasWill = flags & 0x04 != 0
        let willQoSBits = (flags >> 3) & 0x03
        let willRetain = flags & 0x20 != 0
        let hasPassword = flags & 0x40 != 0
        let hasUsername = flags & 0x80 != 0
        if !hasWill, willQoSBits != 0 || willRetain {
            throw .malformed("the will QoS and retain flags are set without a will")
        }
        guard let willQoS = QoS(rawValue: willQoSBits) else { throw .malformed("the will QoS is 3") }
        if version == .v3_1_1, hasPassword, !hasUsername {
            throw .malformed("a password without a user name is not allowed in MQTT 3.1.1")
        }
        let keepAlive = try uint16("the keep alive")
        let properties = try properties(.connect)
        let clientID = try string("the client identifier")
        var will: Packet.Will?
        if hasWill {
            let willProperties = try self.properties(.will)
            let topic = try string("the will topic")
            guard TopicCheck.isTopicName(topic) else {
                throw .protocolError("the will topic must be a topic name without wildcards")
            }
            let payload = try binary("the will payload")
            will = Packet.Will(
                topic: topic, payload: payload, qos: willQoS, retain: willRetain, properties: willProperties)
        }
        let username = hasUsername ? try string("the user name") : nil
        let password = hasPassword ? try binary("the password") : nil
        return Packet.Connect(
            version: version, clientID: clientID, cleanStart: flags & 0x02 != 0, keepAlive: keepAlive,
            username: username, password: password, will: will, properties: properties)
    }

    mutating func connack() throws(MQTTProtocolError) -> Packet.ConnAck {
        let flags = try byte("the acknowledge flags")
        guard flags & 0xFE == 0 else { throw .malformed("reserved CONNACK flags are set") }
        let code = try byte("the CONNACK reason code")
        try ReasonCodes.check(code, in: version == .v5 ? ReasonCodes.connack : ReasonCodes.connackV3, of: .connack)
        if flags & 0x01 != 0, code != 0 {
            throw .protocolError("CONNACK refuses the connection yet says a session is present")
        }
        let properties = try properties(.connack)
        return Packet.ConnAck(sessionPresent: flags & 0x01 != 0, reasonCode: code, properties: properties)
    }

    mutating func publish(flags: UInt8) throws(MQTTProtocolError) -> Packet.Publish {
        guard let qos = QoS(rawValue: (flags >> 1) & 0x03) else { throw .malformed("PUBLISH has QoS 3") }
        let duplicate = flags & 0x08 != 0
        if duplicate, qos == .atMostOnce { throw .malformed("a QoS 0 PUBLISH has the DUP flag set") }
        let topic = try string("the topic name")
        guard topic.isEmpty || TopicCheck.isTopicName(topic) else {
            throw .protocolError("the topic name of a PUBLISH contains a wildcard")
        }
        let packetID = qos == .atMostOnce ? nil : try packetID(.publish)
        let properties = try properties(.publish)
        if topic.isEmpty, properties.topicAlias == nil {
            throw .protocolError("PUBLISH has an empty topic name and no topic alias")
        }
        return Packet.Publish(
            topic: topic, payload: rest(), qos: qos, retain: flags & 0x01 != 0, duplicate: duplicate,
            packetID: packetID, properties: properties)
    }

    /// PUBACK, PUBREC, PUBREL, PUBCOMP: in 5.0 the reason code and properties may be left off.
    mutating func acknowledgement(_ kind: Packet.Kind) throws(MQTTProtocolError) -> Packet.Acknowledgement {
        let id = try packetID(kind)
        guard version == .v5, !isAtEnd else { return Packet.Acknowledgement(packetID: id) }
        let code = try byte("the \(kind) reason code")
        let allowed = kind == .puback || kind == .pubrec ? ReasonCodes.publishAcknowledgement : ReasonCodes.release
        try ReasonCodes.check(code, in: allowed, of: kind)
        let properties = isAtEnd ? [] : try properties(.acknowledgement)
        return Packet.Acknowledgement(packetID: id, reasonCode: code, properties: properties)
    }

    mutating func subscribe() throws(MQTTProtocolError) -> Packet.Subscribe {
        let id = try packetID(.subscribe)
        let properties = try properties(.subscribe)
        var subscriptions: [Packet.Subscription] = []
        while !isAtEnd {
            let filter = try string("a topic filter")
            guard TopicCheck.isTopicFilter(filter) else {
                throw .malformed("SUBSCRIBE carries an invalid topic filter")
            }
            let options = try byte("the subscription options")
            let reserved: UInt8 = version == .v5 ? 0xC0 : 0xFC
            guard options & reserved == 0 else { throw .malformed("reserved subscription option bits are set") }
            guard let qos = QoS(rawValue: options & 0x03) else { throw .malformed("a subscription asks for QoS 3") }
            let retainHandling = (options >> 4) & 0x03
            guard retainHandling != 3 else { throw .protocolError("retain handling 3 is reserved") }
            subscriptions.append(
                Packet.Subscription(
                    filter: filter, qos: qos, noLocal: options & 0x04 != 0, retainAsPublished: options & 0x08 != 0,
                    retainHandling: retainHandling))
        }
        guard !subscriptions.isEmpty else { throw .protocolError("SUBSCRIBE carries no topic filter") }
        return Packet.Subscribe(packetID: id, subscriptions: subscriptions, properties: properties)
    }

    mutating func suback() throws(MQTTProtocolError) -> Packet.SubAck {
        let id = try packetID(.suback)
        let properties = try properties(.suback)
        var codes: [UInt8] = []
        while !isAtEnd {
            let code = try byte("a SUBACK return code")
            try ReasonCodes.check(code, in: version == .v5 ? ReasonCodes.suback : ReasonCodes.subackV3, of: .suback)
            codes.append(code)
        }
        guard !codes.isEmpty else { throw .protocolError("SUBACK carries no return code") }
        return Packet.SubAck(packetID: id, reasonCodes: codes, properties: properties)
    }

    mutating func unsubscribe() throws(MQTTProtocolError) -> Packet.Unsubscribe {
        let id = try packetID(.unsubscribe)
        let properties = try properties(.unsubscribe)
        var filters: [String] = []
        while !isAtEnd {
            let filter = try string("a topic filter")
            guard TopicCheck.isTopicFilter(filter) else {
                throw .malformed("UNSUBSCRIBE carries an invalid topic filter")
            }
            filters.append(filter)
        }
        guard !filters.isEmpty else { throw .protocolError("UNSUBSCRIBE carries no topic filter") }
        return Packet.Unsubscribe(packetID: id, filters: filters, properties: properties)
    }

    mutating func unsuback() throws(MQTTProtocolError) -> Packet.UnsubAck {
        let id = try packetID(.unsuback)
        guard version == .v5 else { return Packet.UnsubAck(packetID: id) }
        let properties = try properties(.unsuback)
        var codes: [UInt8] = []
        while !isAtEnd {
            let code = try byte("an UNSUBACK reason code")
            try ReasonCodes.check(code, in: ReasonCodes.unsuback, of: .unsuback)
            codes.append(code)
        }
        guard !codes.isEmpty else { throw .protocolError("UNSUBACK carries no reason code") }
        return Packet.UnsubAck(packetID: id, reasonCodes: codes, properties: properties)
    }

    mutating func disconnect() throws(MQTTProtocolError) -> Packet.Disconnect {
        guard version == .v5, !isAtEnd else { return Packet.Disconnect() }
        let code = try byte("the DISCONNECT reason code")
        try ReasonCodes.check(code, in: ReasonCodes.disconnect, of: .disconnect)
        let properties = isAtEnd ? [] : try properties(.disconnect)
        return Packet.Disconnect(reasonCode: code, properties: properties)
    }

    mutating func auth() throws(MQTTProtocolError) -> Packet.Auth {
        guard !isAtEnd else { return Packet.Auth() }
        let code = try byte("the AUTH reason code")
        try ReasonCodes.check(code, in: ReasonCodes.auth, of: .auth)
        let properties = isAtEnd ? [] : try properties(.auth)
        return Packet.Auth(reasonCode: code, properties: properties)
    }
}

/// The reason codes each packet may carry (MQTT 5.0 §2.4 and each packet's section; 3.1.1 §3.2.2.3
/// and §3.9.3).
package enum ReasonCodes {
    static let connackV3: Set<UInt8> = [0, 1, 2, 3, 4, 5]
    static let connack: Set<UInt8> = [
        0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99,
        0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
    ]
    static let publishAcknowledgement: Set<UInt8> = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]
    static let release: Set<UInt8> = [0x00, 0x92]
    static let subackV3: Set<UInt8> = [0x00, 0x01, 0x02, 0x80]
    static let suback: Set<UInt8> = [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2]
    static let unsuback: Set<UInt8> = [0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91]
    static let disconnect: Set<UInt8> = [
        0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95, 0x96,
        0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
    ]
    static let auth: Set<UInt8> = [0x00, 0x18, 0x19]

    static func check(_ code: UInt8, in allowed: Set<UInt8>, of kind: Packet.Kind) throws(MQTTProtocolError) {
        guard allowed.contains(code) else {
            throw .malformed("\(kind) carries reason code \(hex(code)), which it cannot")
        }
    }

    /// `code` as the specification writes it: `0x87`.
    package static func hex(_ code: UInt8) -> String {
        "0x" + String(code, radix: 16, uppercase: true)
    }
}

/// The shape rules of topic names and filters that the codec checks (MQTT §4.7).
enum TopicCheck {
    /// A non-empty name without `+` or `#`.
    static func isTopicName(_ topic: String) -> Bool {
        !topic.isEmpty && !topic.utf8.contains { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "#") }
    }

    /// A non-empty filter where `+` fills a whole level and `#` a whole last level.
    static func isTopicFilter(_ filter: String) -> Bool {
        guard !filter.isEmpty else { return false }
        let levels = filter.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        for (index, level) in levels.enumerated() {
            if level.contains(UInt8(ascii: "#")) {
                guard level.count == 1, index == levels.count - 1 else { return false }
            }
            if level.contains(UInt8(ascii: "+")), level.count != 1 { return false }
        }
        return true
    }
}
