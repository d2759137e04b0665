import SignalboxCore
import SignalboxJSON
import SignalboxShadows
import SignalboxTesting
import Synchronization
import Testing

/// The service end to end over in-memory storage: events, versions, deletion, names, listing,
/// concurrency.
struct ShadowServiceTests {
    static let classic = ShadowKey(thing: "T")
    static let named = ShadowKey(thing: "T", name: "N")

    // MARK: - Published events

    struct EventCase: Sendable, CustomTestStringConvertible {
        var name: String
        var key: ShadowKey
        var before: [String]
        var request: String
        /// Topics the request publishes, in order.
        var topics: [String]
        var source: String
        var testDescription: String { name }
    }

    static let eventCases: [EventCase] = [
        EventCase(
            name: "desired update with a difference: delta then documents", key: classic, before: [],
            request: #"{"state":{"desired":{"a":1}}}"#,
            topics: ["$aws/things/T/shadow/update/delta", "$aws/things/T/shadow/update/documents"],
            source: Guide.mqtt),
        EventCase(
            name: "named shadow topics", key: named, before: [], request: #"{"state":{"desired":{"a":1}}}"#,
            topics: ["$aws/things/T/shadow/name/N/update/delta", "$aws/things/T/shadow/name/N/update/documents"],
            source: Guide.mqtt),
        EventCase(
            name: "reported-only update: documents only", key: classic, before: [#"{"state":{"desired":{"a":1}}}"#],
            request: #"{"state":{"reported":{"b":1}}}"#, topics: ["$aws/things/T/shadow/update/documents"],
            source: Guide.mqtt),
        EventCase(
            name: "desired equal to reported: documents only", key: named, before: [#"{"state":{"reported":{"a":1}}}"#],
            request: #"{"state":{"desired":{"a":1}}}"#, topics: ["$aws/things/T/shadow/name/N/update/documents"],
            source: Guide.simulating),
        EventCase(
            name: "desired rewritten to the same differing value: delta again", key: classic,
            before: [#"{"state":{"desired":{"a":1}}}"#], request: #"{"state":{"desired":{"a":1}}}"#,
            topics: ["$aws/things/T/shadow/update/delta", "$aws/things/T/shadow/update/documents"],
            source: Guide.mqtt),
        EventCase(
            name: "desired: null: documents only", key: classic, before: [#"{"state":{"desired":{"a":1}}}"#],
            request: #"{"state":{"desired":null}}"#, topics: ["$aws/things/T/shadow/update/documents"],
            source: Guide.mqtt),
        EventCase(
            name: "empty update: documents only", key: classic, before: [#"{"state":{"desired":{"a":1}}}"#],
            request: #"{"state":{}}"#, topics: ["$aws/things/T/shadow/update/documents"], source: Guide.mqtt),
    ]

    @Test(arguments: eventCases)
    func publishedTopics(_ row: EventCase) async throws {
        let fixture = ShadowFixture()
        for request in row.before { try await fixture.update(row.key, request) }
        fixture.publisher.removeAll()
        try await fixture.update(row.key, row.request)
        #expect(fixture.topics == row.topics, "\(row.source)")
    }

    @Test func deltaEventListsEveryDifferingDesiredField() async throws {
        // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-mqtt.html ("regardless of whether
        // these attributes were contained in the current update message or were already stored")
        let fixture = ShadowFixture(clock: ManualClock(milliseconds: 100_000))
        try await fixture.update(Self.classic, #"{"state":{"desired":{"a":1,"b":2,"c":3},"reported":{"c":3}}}"#)
        fixture.clock.set(milliseconds: 200_000)
        try await fixture.update(Self.classic, #"{"state":{"desired":{"d":4},"reported":{"a":0}}}"#)
        #expect(
            fixture.lastPayload(on: "$aws/things/T/shadow/update/delta")
                == #"{"version":2,"timestamp":200,"state":{"a":1,"b":2,"d":4},"metadata":{"a":{"timestamp":100},"b":{"timestamp":100},"d":{"timestamp":200}}}"#
        )
    }

    @Test func documentsEventCarriesPreviousAndCurrent() async throws {
        // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-document.html (/documents)
        let fixture = ShadowFixture(clock: ManualClock(milliseconds: 10_000))
        try await fixture.update(Self.named, #"{"state":{"reported":{"a":1}},"clientToken":"one"}"#)
        #expect(
            fixture.lastPayload(on: "$aws/things/T/shadow/name/N/update/documents")
                == #"{"previous":null,"current":{"state":{"reported":{"a":1}},"metadata":{"reported":{"a":{"timestamp":10}}},"version":1},"timestamp":10,"clientToken":"one"}"#
        )
        fixture.clock.set(milliseconds: 20_000)
        try await fixture.update(Self.named, #"{"state":{"reported":{"a":null,"b":2}}}"#)
        #expect(
            fixture.lastPayload(on: "$aws/things/T/shadow/name/N/update/documents")
                == #"{"previous":{"state":{"reported":{"a":1}},"metadata":{"reported":{"a":{"timestamp":10}}},"version":1},"current":{"state":{"reported":{"b":2}},"metadata":{"reported":{"b":{"timestamp":20}}},"version":2},"timestamp":20}"#
        )
    }

    @Test func rejectedUpdatesPublishNothing() async throws {
        // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-error-messages.html
        let fixture = ShadowFixture()
        try await fixture.update(Self.classic, #"{"state":{"desired":{"a":1}}}"#)
        fixture.publisher.removeAll()
        let conflict = await shadowError { () async throws(ShadowError) in
            try await fixture.update(Self.classic, #"{"state":{"desired":{"a":2}},"version":7}"#)
        }
        #expect(conflict == ShadowError(.conflict, "Version conflict"))
        let invalid = await shadowError { () async throws(ShadowError) in
            try await fixture.update(Self.classic, #"{"state":{"desired":5}}"#)
        }
        #expect(invalid?.code == .badRequest)
        #expect(fixture.topics.isEmpty)
    }

    // MARK: - Lifecycle and versions

    @Test func stateNullKeepsTheShadow() async throws {
        // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-data-flow.html ("Setting the device's
        // shadow state to null does not delete the shadow. The shadow version will be incremented on the next update.")
        let fixture = ShadowFixture(clock: ManualClock(milliseconds: 50_000))
        try await fixture.update(Self.classic, #"{"state":{"desired":{"a":1},"reported":{"b":2}}}"#)
        try await fixture.update(Self.classic, #"{"state":null}"#)
        fixture.clock.set(milliseconds: 60_000)
        #expect(try await fixture.get(Self.classic) == #"{"state":{},"metadata":{},"version":2,"timestamp":60}"#)
        let accepted = try await fixture.update(Self.classic, #"{"state":{"reported":{"c":3}}}"#)
        #expect(json(accepted)["version"] == 3)
    }

    @Test func versionsCountUpDeleteKeepsThemAndRecreationContinues() async throws {
        // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-data-flow.html ("the version number of
        // the new device shadow document will follow that of the deleted one")
        let fixture = ShadowFixture(clock: ManualClock(milliseconds: 1_000_000))
        for expected: Int64 in 1...3 {
            let accepted = try await fixture.update(Self.classic, #"{"state":{"reported":{"n":\#(expected)}}}"#)
            #expect(json(accepted)["version"] == .int(expected))
        }
        fixture.clock.set(milliseconds: 2_000_000)
        #expect(try await fixture.delete(Self.classic) == #"{"version":3,"timestamp":2000}"#)
        let gone = await shadowError { () async throws(ShadowError) in try await fixture.get(Self.classic) }
        #expect(gone == ShadowError(.notFound, "No shadow exists with name: 'T'"))
        fixture.clock.set(milliseconds: (2_000 + 47 * 3600) * 1000)
        let recreated = try await fixture.update(Self.classic, #"{"state":{"desired":{"x":1}}}"#)
        #expect(json(recreated)["version"] == 4)
        // The re-created shadow starts empty: nothing of the deleted one survives.
        #expect(
            try await fixture.get(Self.classic)
                == #"{"state":{"desired":{"x":1},"delta":{"x":1}},"metadata":{"desired":{"x":{"timestamp":171200}}},"version":4,"timestamp":171200}"#
        )
        // And its documents event says there was no previous document.
        #expect(
            fixture.lastPayload(on: "$aws/things/T/shadow/update/documents")?.hasPrefix(#"{"previous":null,"#) == true)
    }

    @Test(arguments: [
        // (seconds after deletion, expected version of the re-created shadow), retention 100 s.
        (Int64(99), Int64(6)), (100, 6), (101, 1), (10_000, 1),
    ])
    func versionRetentionAfterDeletion(elapsed: Int64, expected: Int64) async throws {
        // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-data-flow.html ("deleted for more
        // than 48 hours" → starts afresh; Signalbox makes the 48 h configurable)
        let fixture = ShadowFixture(
            limits: ShadowLimits(deletedVersionRetention: 100), clock: ManualClock(milliseconds: 500_000))
        for _ in 1...5 { try await fixture.update(Self.named, #"{"state":{"reported":{"a":1}}}"#) }
        try await fixture.delete(Self.named)
        fixture.clock.advance(by: .seconds(elapsed))
        let accepted = try await fixture.update(Self.named, #"{"state":{"reported":{"a":1}}}"#)
        #expect(json(accepted)["version"] == .int(expected))
    }

    @Test(arguments: [
        (classic, "", "No shadow exists with name: 'T'"),
        (named, #"{"clientToken":"c"}"#, "No shadow exists with name: 'N'"),
    ])
    func missingShadowsAreNotFound(key: ShadowKey, request: String, message: String) async {
        // https://docs.aws.amazon.com/iot/latest/developerguide/using-device-shadows.html
        // ("No shadow exists with name: 'simShadow1'")
        let fixture = ShadowFixture()
        let get = await shadowError { () async throws(ShadowError) in try await fixture.get(key, request) }
        let delete = await shadowError { () async throws(ShadowError) in try await fixture.delete(key, request) }
        #expect(get == ShadowError(.notFound, message))
        #expect(delete == ShadowError(.notFound, message))
        // A second delete of a deleted shadow is also 404.
        _ = try? await fixture.update(key, #"{"state":{}}"#)
        try? await fixture.delete(key)
        let again = await shadowError { () async throws(ShadowError) in try await fixture.delete(key) }
        #expect(again == ShadowError(.notFound, message))
    }

    @Test func deleteEchoesTheClientToken() async throws {
        // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-document.html (clientToken echoed)
        let fixture = ShadowFixture(clock: ManualClock(milliseconds: 9_000))
        try await fixture.update(Self.named, #"{"state":{"reported":{"a":1}}}"#)
        #expect(
            try await fixture.delete(Self.named, #"{"clientToken":"bye"}"#)
                == #"{"version":1,"timestamp":9,"clientToken":"bye"}"#)
    }

    @Test func classicAndNamedShadowsAreIndependent() async throws {
        // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-rest-api.html
        let fixture = ShadowFixture()
        try await fixture.update(Self.classic, #"{"state":{"reported":{"a":1}}}"#)
        try await fixture.update(Self.classic, #"{"state":{"reported":{"a":2}}}"#)
        let accepted = try await fixture.update(Self.named, #"{"state":{"reported":{"a":9}}}"#)
        #expect(json(accepted)["version"] == 1)
        try await fixture.delete(Self.classic)
        #expect(json(try await fixture.get(Self.named))["state"] == ["reported": ["a": 9]])
    }

    @Test func oversizedMergedStateChangesNothing() async throws {
        // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-error-messages.html
        // (413 "The payload exceeds the maximum size allowed"); 8 KB: https://docs.aws.amazon.com/iot/latest/developerguide/diagnosing-shadows.html
        let fixture = ShadowFixture(clock: ManualClock(milliseconds: 7_000))
        let half = String(repeating: "r", count: 5000)
        try await fixture.update(Self.classic, #"{"state":{"reported":{"big":"\#(half)"}}}"#)
        let before = try await fixture.get(Self.classic)
        fixture.publisher.removeAll()
        let error = await shadowError { () async throws(ShadowError) in
            try await fixture.update(Self.classic, #"{"state":{"desired":{"big":"\#(half)"}}}"#)
        }
        #expect(error == ShadowError(.payloadTooLarge, "The payload exceeds the maximum size allowed"))
        #expect(try await fixture.get(Self.classic) == before)
        #expect(json(before)["version"] == 1)
        #expect(fixture.topics.isEmpty)
        // Deleting fields makes room again.
        let accepted = try await fixture.update(
            Self.classic, #"{"state":{"reported":{"big":null},"desired":{"big":"\#(half)"}}}"#)
        #expect(json(accepted)["version"] == 2)
    }

    @Test func oversizedRequestBodyIs413() async {
        // https://docs.aws.amazon.com/general/latest/gr/iot-core.html#device-shadow-limits (payload size → 413)
        let fixture = ShadowFixture(limits: ShadowLimits(maxRequestBytes: 100))
        let request = #"{"state":{"reported":{"a":""# + String(repeating: "z", count: 100) + #""}}}"#
        let error = await shadowError { () async throws(ShadowError) in try await fixture.update(Self.classic, request)
        }
        #expect(error == ShadowError(.payloadTooLarge, "The payload exceeds the maximum size allowed"))
        let missing = await shadowError { () async throws(ShadowError) in try await fixture.get(Self.classic) }
        #expect(missing?.code == .notFound)
    }

    // MARK: - Names

    struct NameCase: Sendable, CustomTestStringConvertible {
        var thing: String
        var shadow: String?
        /// The prefix of the 400 message, or `nil` when the names are valid.
        var error: String?
        var source: String
        var valid: Bool { error == nil }
        var testDescription: String { "\(thing) / \(shadow ?? "classic") → \(error ?? "valid")" }
    }

    static let nameCases: [NameCase] = [
        NameCase(thing: "fridge-7", shadow: nil, error: nil, source: Guide.apiModel),
        NameCase(thing: "a:b_c-D9", shadow: "cfg:v_1-X", error: nil, source: Guide.apiModel),
        NameCase(thing: String(repeating: "t", count: 128), shadow: nil, error: nil, source: Guide.apiModel),
        NameCase(
            thing: String(repeating: "t", count: 129), shadow: nil, error: "Invalid thing name", source: Guide.apiModel),
        NameCase(thing: "", shadow: nil, error: "Invalid thing name", source: Guide.apiModel),
        NameCase(thing: "has space", shadow: nil, error: "Invalid thing name", source: Guide.apiModel),
        NameCase(thing: "slash/thing", shadow: nil, error: "Invalid thing name", source: Guide.apiModel),
        NameCase(thing: "plus+", shadow: nil, error: "Invalid thing name", source: Guide.apiModel),
        NameCase(thing: "hash#", shadow: nil, error: "Invalid thing name", source: Guide.apiModel),
        NameCase(thing: "$thing", shadow: nil, error: "Invalid thing name", source: Guide.apiModel),
        NameCase(thing: "café", shadow: nil, error: "Invalid thing name", source: Guide.apiModel),
        NameCase(thing: "a b", shadow: "fine", error: "Invalid thing name", source: Guide.apiModel),
        NameCase(thing: "t", shadow: "$package", error: nil, source: Guide.apiModel),
        NameCase(thing: "t", shadow: String(repeating: "s", count: 64), error: nil, source: Guide.apiModel),
        NameCase(
            thing: "t", shadow: String(repeating: "s", count: 65), error: "Invalid shadow name", source: Guide.apiModel),
        NameCase(thing: "t", shadow: "", error: "Invalid shadow name", source: Guide.apiModel),
        NameCase(thing: "t", shadow: "a/b", error: "Invalid shadow name", source: Guide.apiModel),
        NameCase(thing: "t", shadow: "a.b", error: "Invalid shadow name", source: Guide.apiModel),
    ]

    @Test(arguments: nameCases)
    func namesAreValidated(_ row: NameCase) async {
        let key = ShadowKey(thing: row.thing, name: row.shadow)
        let validation = shadowErrorSync { () throws(ShadowError) in try key.validate(ShadowLimits()) }
        #expect((validation == nil) == row.valid, "\(row.source)")
        let fixture = ShadowFixture()
        let update = await shadowError { () async throws(ShadowError) in
            try await fixture.update(key, #"{"state":{"reported":{"a":1}}}"#)
        }
        let get = await shadowError { () async throws(ShadowError) in try await fixture.get(key) }
        let delete = await shadowError { () async throws(ShadowError) in try await fixture.delete(key) }
        if row.valid {
            #expect(update == nil, "\(row.source)")
            #expect(get == nil, "\(row.source)")
            #expect(delete == nil, "\(row.source)")
        } else {
            for error in [validation, update, get, delete] {
                #expect(error?.code == .badRequest, "\(row.source)")
                #expect(error?.message.hasPrefix(row.error ?? "-") == true, "\(row.source)")
            }
            #expect(fixture.topics.isEmpty)
        }
    }

    // MARK: - ListNamedShadowsForThing

    static func listFixture() async throws -> ShadowFixture {
        let fixture = ShadowFixture(clock: ManualClock(milliseconds: 42_000))
        try await fixture.update(ShadowKey(thing: "T"), #"{"state":{"reported":{"classic":true}}}"#)
        for name in ["delta", "alpha", "echo", "charlie", "bravo", "gone", "$package"] {
            try await fixture.update(ShadowKey(thing: "T", name: name), #"{"state":{"reported":{"a":1}}}"#)
        }
        try await fixture.update(ShadowKey(thing: "Other", name: "zulu"), #"{"state":{"reported":{"a":1}}}"#)
        try await fixture.delete(ShadowKey(thing: "T", name: "gone"))
        return fixture
    }

    @Test(arguments: [
        // (pageSize, pages): sorted, classic and deleted shadows excluded, nextToken only when more follow.
        (nil as Int?, [["$package", "alpha", "bravo", "charlie", "delta", "echo"]]),
        (100, [["$package", "alpha", "bravo", "charlie", "delta", "echo"]]),
        (6, [["$package", "alpha", "bravo", "charlie", "delta", "echo"]]),
        (4, [["$package", "alpha", "bravo", "charlie"], ["delta", "echo"]]),
        (2, [["$package", "alpha"], ["bravo", "charlie"], ["delta", "echo"]]),
        (1, [["$package"], ["alpha"], ["bravo"], ["charlie"], ["delta"], ["echo"]]),
    ])
    func listNamedShadowsPages(pageSize: Int?, pages: [[String]]) async throws {
        // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-document.html (shadow name list;
        // "not present when there are no more shadow names"); REST: "The unnamed (classic) shadow does not appear"
        let fixture = try await Self.listFixture()
        var token: String?
        for (index, expected) in pages.enumerated() {
            let reply = try await fixture.service.listNamedShadows(thing: "T", pageSize: pageSize, nextToken: token)
            guard case .object(let object) = reply else {
                Issue.record("not an object")
                return
            }
            #expect(object["results"] == .array(expected.map(Value.string)))
            #expect(object["timestamp"] == 42)
            let isLast = index == pages.count - 1
            if isLast {
                #expect(object.keys == ["results", "timestamp"])
            } else {
                #expect(object.keys == ["results", "nextToken", "timestamp"])
                guard case .string(let next)? = object["nextToken"] else {
                    Issue.record("no nextToken")
                    return
                }
                token = next
            }
        }
    }

    @Test func listOfAThingWithoutNamedShadowsIsEmpty() async throws {
        // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-rest-api.html
        let fixture = try await Self.listFixture()
        let reply = try await fixture.service.listNamedShadows(thing: "Nobody", pageSize: nil, nextToken: nil)
        #expect(text(reply) == #"{"results":[],"timestamp":42}"#)
    }

    @Test(
        arguments: [
            // (thing, pageSize, nextToken, message prefix)
            ("T", 0, nil, "pageSize must be between 1 and 100"),
            ("T", 101, nil, "pageSize must be between 1 and 100"),
            ("T", -3, nil, "pageSize must be between 1 and 100"),
            ("T", 10, "not-hex!", "Invalid nextToken"),
            ("T", 10, "", "Invalid nextToken"),
            ("T", 10, "abc", "Invalid nextToken"),
            ("T", 10, "2f2f", "Invalid nextToken"),  // decodes to "//", not a shadow name
            ("bad thing", 10, nil, "Invalid thing name"),
        ] as [(String, Int, String?, String)])
    func listRejectsBadArguments(thing: String, pageSize: Int, nextToken: String?, message: String) async throws {
        // https://github.com/boto/botocore/blob/develop/botocore/data/iot-data/2015-05-28/service-2.json
        // (PageSize 1…100; InvalidRequestException)
        let fixture = try await Self.listFixture()
        let error = await shadowError { () async throws(ShadowError) in
            try await fixture.service.listNamedShadows(thing: thing, pageSize: pageSize, nextToken: nextToken)
        }
        #expect(error?.code == .badRequest)
        #expect(error?.message.hasPrefix(message) == true)
    }

    // MARK: - Concurrency

    @Test func concurrentUpdatesOfOneShadowGetDistinctVersions() async throws {
        // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-document.html ("Every time the document
        // is updated, this version number is incremented")
        let fixture = ShadowFixture()
        let service = fixture.service
        let versions = await withTaskGroup(of: Int64?.self) { group in
            for i in 0..<200 {
                group.addTask {
                    let reply = try? await service.update(
                        Self.classic, body: body(#"{"state":{"reported":{"n":\#(i)}}}"#))
                    if case .int(let version)? = reply?["version"] { return version }
                    return nil
                }
            }
            var versions: [Int64] = []
            for await version in group { versions.append(version ?? -1) }
            return versions
        }
        #expect(versions.sorted() == Array(1...200))
        #expect(json(try await fixture.get(Self.classic))["version"] == 200)
        #expect(fixture.topics.count == 200)
    }

    @Test func optimisticLockingLetsExactlyOneWinnerThrough() async throws {
        // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-data-flow.html (optimistic locking, 409)
        let fixture = ShadowFixture()
        let service = fixture.service
        let results = await withTaskGroup(of: ShadowError?.self) { group in
            for i in 0..<50 {
                group.addTask {
                    await shadowError { () async throws(ShadowError) in
                        try await service.update(
                            Self.named, body: body(#"{"state":{"desired":{"n":\#(i)}},"version":0}"#))
                    }
                }
            }
            var results: [ShadowError?] = []
            for await result in group { results.append(result) }
            return results
        }
        #expect(results.count { $0 == nil } == 1)
        #expect(results.count { $0 == ShadowError(.conflict, "Version conflict") } == 49)
        #expect(json(try await fixture.get(Self.named))["version"] == 1)
    }
}
