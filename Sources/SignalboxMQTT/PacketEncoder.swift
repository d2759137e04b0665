import NIOCore

/// Writes packets in the wire format of one protocol version. Fields that only MQTT 5 has are left
/// out when encoding for 3.1.1.
///
/// Encoding refuses what no receiver could take: a string or binary field over 65,535 bytes, a
/// packet over the 268,435,455-byte remaining length the format allows, a PUBLISH whose packet
/// identifier does not match its QoS.
package struct PacketEncoder: Sendable {
    package var version: ProtocolVersion

    package init(version: ProtocolVersion) {
        self.version = version
    }

    /// Appends `packet` to `buffer`; on error `buffer` is left as it was.
    package func encode(_ packet: Packet, into buffer: inout ByteBuffer) throws(MQTTProtocolError) {
        let start = buffer.writerIndex
        do {
            try write(packet, into: &buffer)
        } catch {
            buffer.moveWriterIndex(to: start)
            throw error
        }
    }

    /// The bytes of `packet`.
    package func encode(_ packet: Packet) throws(MQTTProtocolError) -> ByteBuffer {
        var buffer = ByteBuffer()
        try encode(packet, into: &buffer)
        return buffer
    }

    private func write(_ packet: Packet, into buffer: inout ByteBuffer) throws(MQTTProtocolError) {
        var flags = packet.kind.requiredFlags
        if case .publish(let publish) = packet {
            flags = publish.qos.rawValue << 1 | (publish.retain ? 0x01 : 0) | (publish.duplicate ? 0x08 : 0)
        }
        guard packet.kind != .auth || version == .v5 else {
            throw .protocolError("AUTH does not exist in MQTT 3.1.1")
        }
        buffer.writeInteger(packet.kind.rawValue << 4 | flags)
        // The remaining length is written once the body is: room for its longest form first, then
        // the body moved back over what the actual length did not need.
        let lengthAt = buffer.writerIndex
        buffer.writeRepeatingByte(0, count: 4)
        let bodyAt = buffer.writerIndex
        var writer = PacketWriter(buffer: buffer, version: version)
        buffer = ByteBuffer()  // keeps the storage uniquely referenced by the writer
        defer { buffer = writer.buffer }
        try writer.body(of: packet)
        let length = writer.buffer.writerIndex - bodyAt
        guard length <= VariableByteInteger.max else {
            throw .tooLarge(length, limit: VariableByteInteger.max)
        }
        let lengthSize = VariableByteInteger.size(of: length)
        var at = lengthAt
        var rest = length
        repeat {
            var byte = UInt8(rest % 128)
            rest /= 128
            if rest > 0 { byte |= 0x80 }
            writer.buffer.setInteger(byte, at: at)
            at += 1
        } while rest > 0
        if lengthSize < 4 {
            _ = try? writer.buffer.copyBytes(at: bodyAt, to: lengthAt + lengthSize, length: length)
            writer.buffer.moveWriterIndex(to: lengthAt + lengthSize + length)
        }
    }
}

/// Appends packet bodies to a buffer.
struct PacketWriter {
    var buffer: ByteBuffer
    let version: ProtocolVersion

    mutating func string(_ text: String, _ what: @autoclosure () -> String) throws(MQTTProtocolError) {
        let count = text.utf8.count
        guard count <= Int(UInt16.max) else {
            throw .malformed("\(what()) is \(count) bytes; a string field holds at most 65,535")
        }
        buffer.writeInteger(UInt16(count))
        buffer.writeString(text)
    }

    mutating func binary(_ bytes: [UInt8], _ what: @autoclosure () -> String) throws(MQTTProtocolError) {
        guard bytes.count <= Int(UInt16.max) else {
            throw .malformed("\(what()) is \(bytes.count) bytes; a binary field holds at most 65,535")
        }
        buffer.writeInteger(UInt16(bytes.count))
        buffer.writeBytes(bytes)
    }

    mutating func variableInteger(_ value: Int) {
        var rest = value
        repeat {
            var byte = UInt8(rest % 128)
            rest /= 128
            if rest > 0 { byte |= 0x80 }
            buffer.writeInteger(byte)
        } while rest > 0
    }

    mutating func properties(_ properties: Properties) throws(MQTTProtocolError) {
        guard version == .v5 else { return }
        var body = PacketWriter(buffer: ByteBuffer(), version: version)
        for property in properties { try body.property(property) }
        variableInteger(body.buffer.readableBytes)
        buffer.writeImmutableBuffer(body.buffer)
    }

    private mutating func property(_ property: Property) throws(MQTTProtocolError) {
        variableInteger(Int(property.identifier))
        switch property {
        case .payloadFormatIndicator(let v), .requestProblemInformation(let v), .requestResponseInformation(let v),
            .maximumQoS(let v), .retainAvailable(let v), .wildcardSubscriptionAvailable(let v),
            .subscriptionIdentifierAvailable(let v), .sharedSubscriptionAvailable(let v):
            buffer.writeInteger(v)
        case .messageExpiryInterval(let v), .sessionExpiryInterval(let v), .willDelayInterval(let v),
            .maximumPacketSize(let v):
            buffer.writeInteger(v)
        case .serverKeepAlive(let v), .receiveMaximum(let v), .topicAliasMaximum(let v), .topicAlias(let v):
            buffer.writeInteger(v)
        case .subscriptionIdentifier(let v):
            variableInteger(Int(min(v, UInt32(VariableByteInteger.max))))
        case .contentType(let s), .responseTopic(let s), .assignedClientIdentifier(let s),
            .authenticationMethod(let s), .responseInformation(let s), .serverReference(let s),
            .reasonString(let s):
            try string(s, property.name)
        case .correlationData(let b), .authenticationData(let b):
            try binary(b, property.name)
        case .userProperty(let name, let value):
            try string(name, "a User Property name")
            try string(value, "a User Property value")
        }
    }

    mutating func body(of packet: Packet) throws(MQTTProtocolError) {
        switch packet {
        case .connect(let connect): try self.connect(connect)
        case .connack(let connack):
            buffer.writeInteger(UInt8(connack.sessionPresent ? 1 : 0))
            buffer.writeInteger(connack.reasonCode)
            try properties(connack.properties)
        case .publish(let publish): try self.publish(publish)
        case .puback(let ack), .pubrec(let ack), .pubrel(let ack), .pubcomp(let ack):
            buffer.writeInteger(ack.packetID)
            guard version == .v5, ack.reasonCode != 0 || !ack.properties.isEmpty else { return }
            buffer.writeInteger(ack.reasonCode)
            if !ack.properties.isEmpty { try properties(ack.properties) }
        case .subscribe(let subscribe):
            buffer.writeInteger(subscribe.packetID)
            try properties(subscribe.properties)
            for subscription in subscribe.subscriptions {
                try string(subscription.filter, "a topic filter")
                var options = subscription.qos.rawValue
                if version == .v5 {
                    if subscription.noLocal { options |= 0x04 }
                    if subscription.retainAsPublished { options |= 0x08 }
                    options |= (subscription.retainHandling & 0x03) << 4
                }
                buffer.writeInteger(options)
            }
        case .suback(let suback):
            buffer.writeInteger(suback.packetID)
            try properties(suback.properties)
            buffer.writeBytes(suback.reasonCodes)
        case .unsubscribe(let unsubscribe):
            buffer.writeInteger(unsubscribe.packetID)
            try properties(unsubscribe.properties)
            for filter in unsubscribe.filters { try string(filter, "a topic filter") }
        case .unsuback(let unsuback):
            buffer.writeInteger(unsuback.packetID)
            guard version == .v5 else { return }
            try properties(unsuback.properties)
            buffer.writeBytes(unsuback.reasonCodes)
        case .pingreq, .pingresp:
            return
        case .disconnect(let disconnect):
            guard version == .v5, disconnect.reasonCode != 0 || !disconnect.properties.isEmpty else { return }
            buffer.writeInteger(disconnect.reasonCode)
            if !disconnect.properties.isEmpty { try properties(disconnect.properties) }
        case .auth(let auth):
            guard auth.reasonCode != 0 || !auth.properties.isEmpty else { return }
            buffer.writeInteger(auth.reasonCode)
            if !auth.properties.isEmpty { try properties(auth.properties) }
        }
    }

    private mutating func connect(_ connect: Packet.Connect) throws(MQTTProtocolError) {
        try string("MQTT", "the protocol name")
        buffer.writeInteger(version.rawValue)
        var flags: UInt8 = connect.cleanStart ? 0x02 : 0
        if let will = connect.will {
            flags |= 0x04 | will.qos.rawValue << 3 | (will.retain ? 0x20 : 0)
        }
        if connect.password != nil { flags |= 0x40 }
        if connect.username != nil { flags |= 0x80 }
        buffer.writeInteger(flags)
        buffer.writeInteger(connect.keepAlive)
        try properties(connect.properties)
        try string(connect.clientID, "the client identifier")
        if let will = connect.will {
            try properties(will.properties)
            try string(will.topic, "the will topic")
            try binary(will.payload, "the will payload")
        }
        if let username = connect.username { try string(username, "the user name") }
        if let password = connect.password { try binary(password, "the password") }
    }

    private mutating func publish(_ publish: Packet.Publish) throws(MQTTProtocolError) {
        if publish.duplicate, publish.qos == .atMostOnce { throw .protocolError("a QoS 0 PUBLISH cannot be a DUP") }
        try string(publish.topic, "the topic name")
        switch (publish.qos, publish.packetID) {
        case (.atMostOnce, nil): break
        case (.atMostOnce, .some): throw .protocolError("a QoS 0 PUBLISH has no packet identifier")
        case (_, .some(let id)) where id != 0: buffer.writeInteger(id)
        case (_, _): throw .protocolError("a QoS \(publish.qos.rawValue) PUBLISH needs a non-zero packet identifier")
        }
        try properties(publish.properties)
        buffer.writeBytes(publish.payload)
    }
}
