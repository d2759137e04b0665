import Testing

@testable import SignalboxMQTT

/// The client protocol logic without sockets: acknowledgement order, windows, resending after a
/// reconnect, resubscribing, keep-alive.
struct ClientStateMachineTests {
    static let start = ContinuousClock.now

    static func connected(
        _ configuration: ClientStateMachine.Configuration = .init(clientID: "sb"),
        connack: Packet.ConnAck = .init()
    ) -> ClientStateMachine {
        var machine = ClientStateMachine(configuration: configuration, now: start)
        _ = machine.connectionOpened(now: start)
        _ = machine.received(.connack(connack))
        return machine
    }

    static func sent(_ actions: [ClientStateMachine.Action]) -> [Packet] {
        actions.compactMap { if case .send(let packet) = $0 { packet } else { nil } }
    }

    static func incoming(_ id: UInt16) -> Packet {
        .publish(.init(topic: "t/\(id)", payload: [UInt8(truncatingIfNeeded: id)], qos: .atLeastOnce, packetID: id))
    }

    @Test func connectAsksForThePersistentSessionAndItsLimits() {
        var machine = ClientStateMachine(
            configuration: .init(clientID: "sb-1", username: "u", password: [1], receiveMaximum: 50), now: Self.start)
        let actions = machine.connectionOpened(now: Self.start)
        #expect(
            Self.sent(actions) == [
                .connect(
                    .init(
                        version: .v5, clientID: "sb-1", cleanStart: false, keepAlive: 30, username: "u", password: [1],
                        properties: [.sessionExpiryInterval(86_400), .receiveMaximum(50), .maximumPacketSize(1 << 20)]))
            ])
        #expect(machine.state == .connecting)
        // Anything but CONNACK first closes the connection.
        #expect(machine.received(.pingresp).contains { if case .close = $0 { true } else { false } })
    }

    @Test func aRefusedConnectionClosesWithTheReason() {
        var machine = ClientStateMachine(configuration: .init(version: .v3_1_1, clientID: "sb"), now: Self.start)
        _ = machine.connectionOpened(now: Self.start)
        let actions = machine.received(.connack(.init(reasonCode: 4)))
        #expect(
            actions == [
                .close(
                    MQTTProtocolError(reasonCode: 4, "The broker refused the connection (bad user name or password)"))
            ])
    }

    @Test func pubacksGoOutInArrivalOrderWhateverTheOrderOfAcknowledgements() {
        var machine = Self.connected()
        var deliveries: [ClientStateMachine.Delivery] = []
        for id: UInt16 in [7, 3, 9, 1] {
            for action in machine.received(Self.incoming(id)) {
                if case .deliver(_, let delivery?) = action { deliveries.append(delivery) }
            }
        }
        #expect(deliveries.count == 4)
        // The third and second are safe first: nothing may be acknowledged before the first is.
        #expect(machine.acknowledge(deliveries[2]).isEmpty)
        #expect(machine.acknowledge(deliveries[1]).isEmpty)
        #expect(Self.sent(machine.acknowledge(deliveries[0])) == [7, 3, 9].map { .puback(.init(packetID: $0)) })
        #expect(machine.unacknowledgedDeliveries == 1)
        #expect(Self.sent(machine.acknowledge(deliveries[3])) == [.puback(.init(packetID: 1))])
        // Acknowledging twice sends nothing more.
        #expect(machine.acknowledge(deliveries[3]).isEmpty)
    }

    @Test func deliveriesOfAnEarlierConnectionAreNeverAcknowledged() {
        var machine = Self.connected()
        guard case .deliver(_, let delivery?) = machine.received(Self.incoming(5)).first else {
            Issue.record("no delivery")
            return
        }
        machine.connectionClosed()
        _ = machine.connectionOpened(now: Self.start)
        _ = machine.received(.connack(.init(sessionPresent: true)))
        // The broker sends it again on the new connection; the old delivery's acknowledgement is void.
        #expect(machine.acknowledge(delivery).isEmpty)
        guard case .deliver(let again, let second?) = machine.received(Self.incoming(5)).first else {
            Issue.record("no second delivery")
            return
        }
        #expect(again.packetID == 5)
        #expect(Self.sent(machine.acknowledge(second)) == [.puback(.init(packetID: 5))])
    }

    @Test func qos0IsDeliveredWithoutAcknowledgement() {
        var machine = Self.connected()
        let publish = Packet.Publish(topic: "a", payload: [1])
        #expect(machine.received(.publish(publish)) == [.deliver(publish, delivery: nil)])
    }

    @Test func publishesPastTheReceiveMaximumAreStillTaken() {
        // Some brokers count one over; the owner's back-pressure bounds what is held, not a disconnect.
        var machine = Self.connected(.init(clientID: "sb", receiveMaximum: 2))
        for id: UInt16 in 1...3 {
            guard case .deliver = machine.received(Self.incoming(id)).first else {
                Issue.record("publish \(id) not delivered")
                return
            }
        }
        #expect(machine.unacknowledgedDeliveries == 3)
    }

    static func deliveries(_ actions: [ClientStateMachine.Action]) -> [ClientStateMachine.Delivery] {
        actions.compactMap { if case .deliver(_, let delivery?) = $0 { delivery } else { nil } }
    }

    static func redelivered(_ id: UInt16) -> Packet {
        .publish(.init(topic: "t/\(id)", payload: [], qos: .atLeastOnce, duplicate: true, packetID: id))
    }

    @Test func aStoredMessageRedeliveredAfterAReconnectIsAcknowledgedNotDeliveredAgain() {
        var machine = Self.connected()
        let first = (1...3).flatMap { Self.deliveries(machine.received(Self.incoming(UInt16($0)))) }
        // 1 stored and acknowledged (its PUBACK may be lost), 3 stored but waiting behind 2, 2 not stored.
        #expect(Self.sent(machine.acknowledge(first[0])) == [.puback(.init(packetID: 1))])
        #expect(machine.acknowledge(first[2]).isEmpty)
        machine.connectionClosed()
        #expect(machine.stored == [1, 3])
        _ = machine.connectionOpened(now: Self.start)
        _ = machine.received(.connack(.init(sessionPresent: true)))
        // The broker sends 1, 2 and 3 again: only 2 reaches the owner; 1 is acknowledged at once, 3 after 2.
        #expect(Self.sent(machine.received(Self.redelivered(1))) == [.puback(.init(packetID: 1))])
        let second = Self.deliveries(machine.received(Self.redelivered(2)))
        #expect(second.count == 1)
        #expect(machine.received(Self.redelivered(3)).isEmpty)
        #expect(Self.sent(machine.acknowledge(second[0])) == [2, 3].map { .puback(.init(packetID: $0)) })
        #expect(machine.stored.isEmpty)
    }

    @Test func anIdentifierReusedWithoutDUPIsANewMessage() {
        var machine = Self.connected()
        let first = Self.deliveries(machine.received(Self.incoming(7)))
        _ = machine.acknowledge(first[0])
        machine.connectionClosed()
        _ = machine.connectionOpened(now: Self.start)
        _ = machine.received(.connack(.init(sessionPresent: true)))
        // The broker had the PUBACK and used 7 again for a new message: delivered.
        #expect(Self.deliveries(machine.received(Self.incoming(7))).count == 1)
        #expect(machine.stored.isEmpty)
    }

    @Test func aLostSessionForgetsWhatWasStored() {
        var machine = Self.connected()
        let first = Self.deliveries(machine.received(Self.incoming(4)))
        _ = machine.acknowledge(first[0])
        machine.connectionClosed()
        // A connection that never got its CONNACK keeps what is known.
        _ = machine.connectionOpened(now: Self.start)
        machine.connectionClosed()
        #expect(machine.stored == [4])
        _ = machine.connectionOpened(now: Self.start)
        _ = machine.received(.connack(.init(sessionPresent: false)))
        #expect(machine.stored.isEmpty)
    }

    /// A machine starting as after a crash: an earlier process stored `recovered`.
    static func restarted(recovered: [UInt16: UInt64], sessionPresent: Bool = true) -> ClientStateMachine {
        var machine = ClientStateMachine(configuration: .init(clientID: "sb"), now: start, recovered: recovered)
        _ = machine.connectionOpened(now: start)
        _ = machine.received(.connack(.init(sessionPresent: sessionPresent)))
        return machine
    }

    static func digest(_ packet: Packet) -> UInt64 {
        if case .publish(let publish) = packet { publish.digest } else { 0 }
    }

    @Test func aRedeliveryOfWhatAnEarlierProcessStoredIsAcknowledgedNotDelivered() {
        var machine = Self.restarted(recovered: [
            1: Self.digest(Self.redelivered(1)), 2: Self.digest(Self.redelivered(2)),
        ])
        #expect(Self.sent(machine.received(Self.redelivered(1))) == [.puback(.init(packetID: 1))])
        // The same identifier with another topic or payload is another message.
        let other = Packet.publish(.init(topic: "t/2", payload: [9], qos: .atLeastOnce, duplicate: true, packetID: 2))
        #expect(Self.deliveries(machine.received(other)).count == 1)
        #expect(machine.recovered.isEmpty)
    }

    @Test func aRecoveredIdentifierCountsOnlyForItsFirstArrival() {
        let stored = Self.redelivered(5)
        var machine = Self.restarted(recovered: [5: Self.digest(stored)])
        // Without DUP the broker is sending a new message (it had the PUBACK): delivered, and 5 is forgotten.
        let first = Self.deliveries(machine.received(Self.incoming(5)))
        #expect(first.count == 1)
        #expect(machine.recovered.isEmpty)
        _ = machine.acknowledge(first[0])
        // A later redelivery under 5 (this process never stored it) is delivered.
        machine.connectionClosed()
        _ = machine.connectionOpened(now: Self.start)
        _ = machine.received(.connack(.init(sessionPresent: true)))
        #expect(machine.stored == [5])
        #expect(Self.sent(machine.received(stored)) == [.puback(.init(packetID: 5))])
        #expect(Self.deliveries(machine.received(Self.redelivered(5))).count == 1)
    }

    @Test func aNewSessionForgetsWhatAnEarlierProcessStored() {
        let machine = Self.restarted(recovered: [3: 42], sessionPresent: false)
        #expect(machine.recovered.isEmpty)
        // A connection that never got its CONNACK keeps it.
        var waiting = ClientStateMachine(configuration: .init(clientID: "sb"), now: Self.start, recovered: [3: 42])
        _ = waiting.connectionOpened(now: Self.start)
        waiting.connectionClosed()
        #expect(waiting.recovered == [3: 42])
    }

    @Test func theDigestCoversTopicAndPayloadAndIsStable() {
        let publish = Packet.Publish(topic: "a/b", payload: Array("{}".utf8))
        // FNV-1a 64 of "a/b", 0xFF, "{}": the same in every process, as stored receipts need.
        #expect(publish.digest == Packet.Publish(topic: "a/b", payload: Array("{}".utf8), qos: .atLeastOnce).digest)
        #expect(publish.digest != Packet.Publish(topic: "a/b{", payload: Array("}".utf8)).digest)
        #expect(publish.digest != Packet.Publish(topic: "a/c", payload: Array("{}".utf8)).digest)
        #expect(Packet.Publish(topic: "", payload: []).digest == 0xaf64_724c_8602_eb6e)
        #expect(publish.digest == 0x028d_90e7_be36_420a)
    }

    @Test func anUnansweredUnsubscribeIsSentAgainOnTheNextConnection() {
        var machine = Self.connected()
        _ = machine.subscribe([.init(filter: "keep/#", qos: .atLeastOnce), .init(filter: "old/#", qos: .atLeastOnce)])
        let sent = Self.sent(machine.unsubscribe(["old/#"]))
        #expect(sent.count == 1)
        #expect(machine.pendingUnsubscribes == ["old/#"])
        // The connection drops before the UNSUBACK: still pending, and sent once connected again.
        machine.connectionClosed()
        #expect(machine.pendingUnsubscribes == ["old/#"])
        _ = machine.connectionOpened(now: Self.start)
        let again = Self.sent(machine.received(.connack(.init(sessionPresent: true))))
        guard case .unsubscribe(let request)? = again.last else {
            Issue.record("no UNSUBSCRIBE after the reconnect: \(again)")
            return
        }
        #expect(request.filters == ["old/#"])
        _ = machine.received(.unsuback(.init(packetID: request.packetID, reasonCodes: [0])))
        #expect(machine.pendingUnsubscribes.isEmpty)
    }

    @Test func aQueuedPublishCanBeWithdrawnButNotOneInFlight() {
        var machine = Self.connected(.init(clientID: "sb", outgoingWindow: 1))
        let message = Packet.Publish(topic: "out", payload: [], qos: .atLeastOnce)
        guard case .accepted = machine.publish(message, token: 1), case .accepted = machine.publish(message, token: 2)
        else {
            Issue.record("publishes refused")
            return
        }
        #expect(machine.pendingPublishes == 2)
        let inFlight = machine.withdraw(token: 1)
        let queued = machine.withdraw(token: 2)
        let again = machine.withdraw(token: 2)
        #expect(!inFlight)  // in flight: stays until acknowledged
        #expect(queued)  // queued: gone
        #expect(!again)
        #expect(machine.pendingPublishes == 1)
    }

    @Test func outgoingPublishesRespectTheBrokersWindowAndQueueBeyondIt() {
        var machine = Self.connected(
            .init(clientID: "sb", maxQueuedPublishes: 2), connack: .init(properties: [.receiveMaximum(2)]))
        var sentIDs: [UInt16] = []
        for token: UInt64 in 1...4 {
            guard
                case .accepted(let actions) = machine.publish(
                    .init(topic: "out", payload: [], qos: .atLeastOnce), token: token)
            else {
                Issue.record("refused \(token)")
                return
            }
            for case .publish(let publish) in Self.sent(actions) { sentIDs.append(publish.packetID ?? 0) }
        }
        #expect(sentIDs == [1, 2])
        #expect(machine.pendingPublishes == 4)
        // Window (2) and queue (2) are full.
        #expect(machine.publish(.init(topic: "out", payload: [], qos: .atLeastOnce), token: 5) == .full)
        // A PUBACK completes its publish and lets the next one out.
        let actions = machine.received(.puback(.init(packetID: 2)))
        #expect(actions.first == .published(token: 2, reasonCode: 0))
        guard case .publish(let next)? = Self.sent(actions).first else {
            Issue.record("nothing sent")
            return
        }
        #expect(next.packetID == 3)
        #expect(
            machine.received(.puback(.init(packetID: 1, reasonCode: 0x87))).first
                == .published(token: 1, reasonCode: 0x87))
        // A PUBACK nobody waits for is a protocol error.
        guard case .close = machine.received(.puback(.init(packetID: 999))).first else {
            Issue.record("not closed")
            return
        }
    }

    @Test func unacknowledgedPublishesAreSentAgainFirstAfterAReconnect() {
        var machine = Self.connected()
        for token: UInt64 in 1...3 {
            _ = machine.publish(.init(topic: "out/\(token)", payload: [], qos: .atLeastOnce), token: token)
        }
        _ = machine.received(.puback(.init(packetID: 2)))
        machine.connectionClosed()
        // Queued while disconnected: goes after the resent ones.
        #expect(machine.publish(.init(topic: "out/4", payload: [], qos: .atLeastOnce), token: 4) == .accepted([]))
        _ = machine.connectionOpened(now: Self.start)
        let kept = Self.sent(machine.received(.connack(.init(sessionPresent: true))))
        #expect(
            kept == [
                .publish(.init(topic: "out/1", payload: [], qos: .atLeastOnce, duplicate: true, packetID: 1)),
                .publish(.init(topic: "out/3", payload: [], qos: .atLeastOnce, duplicate: true, packetID: 3)),
                .publish(.init(topic: "out/4", payload: [], qos: .atLeastOnce, packetID: 4)),
            ])
        // The broker lost the session this time: the same publishes, in order, as new packets.
        machine.connectionClosed()
        _ = machine.connectionOpened(now: Self.start)
        let fresh = Self.sent(machine.received(.connack(.init(sessionPresent: false))))
        #expect(fresh.map { if case .publish(let p) = $0 { p.topic } else { "" } } == ["out/1", "out/3", "out/4"])
        #expect(fresh.allSatisfy { if case .publish(let p) = $0 { !p.duplicate } else { false } })
        #expect(machine.pendingPublishes == 3)
    }

    @Test func subscriptionsAreSentAgainWhenTheSessionWasNotKept() {
        var machine = Self.connected()
        let filters = [Packet.Subscription(filter: "b/#", qos: .atLeastOnce), .init(filter: "a/+", qos: .atLeastOnce)]
        guard case .subscribe(let request)? = Self.sent(machine.subscribe(filters)).first else {
            Issue.record("no SUBSCRIBE")
            return
        }
        #expect(
            machine.received(.suback(.init(packetID: request.packetID, reasonCodes: [1, 0x80])))
                == [.subscribed(["b/#", "a/+"], reasonCodes: [1, 0x80])])
        machine.connectionClosed()
        _ = machine.connectionOpened(now: Self.start)
        #expect(Self.sent(machine.received(.connack(.init(sessionPresent: true)))).isEmpty)
        machine.connectionClosed()
        _ = machine.connectionOpened(now: Self.start)
        guard case .subscribe(let again)? = Self.sent(machine.received(.connack(.init(sessionPresent: false)))).first
        else {
            Issue.record("not resubscribed")
            return
        }
        #expect(again.subscriptions.map(\.filter) == ["a/+", "b/#"])
        guard case .unsubscribe(let unsubscribe)? = Self.sent(machine.unsubscribe(["a/+"])).first else {
            Issue.record("no UNSUBSCRIBE")
            return
        }
        #expect(machine.received(.unsuback(.init(packetID: unsubscribe.packetID))) == [.unsubscribed(["a/+"])])
        #expect(machine.subscriptions.keys.sorted() == ["b/#"])
    }

    @Test func keepAlivePingsWhenIdleAndGivesUpWithoutAnAnswer() {
        var machine = Self.connected(.init(clientID: "sb", keepAlive: 10))
        #expect(machine.tick(now: Self.start + .seconds(9)).isEmpty)
        #expect(machine.tick(now: Self.start + .seconds(10)) == [.send(.pingreq)])
        #expect(machine.tick(now: Self.start + .seconds(15)).isEmpty)
        _ = machine.received(.pingresp)
        machine.sent(now: Self.start + .seconds(15))
        #expect(machine.tick(now: Self.start + .seconds(24)).isEmpty)
        #expect(machine.tick(now: Self.start + .seconds(25)) == [.send(.pingreq)])
        guard case .close = machine.tick(now: Self.start + .seconds(35)).first else {
            Issue.record("no PINGRESP, yet not closed")
            return
        }
    }

    @Test func theServersKeepAliveWins() {
        var machine = Self.connected(
            .init(clientID: "sb", keepAlive: 10), connack: .init(properties: [.serverKeepAlive(60)]))
        #expect(machine.tick(now: Self.start + .seconds(30)).isEmpty)
        #expect(machine.tick(now: Self.start + .seconds(60)) == [.send(.pingreq)])
    }
}
