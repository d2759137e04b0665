import SignalboxJSON
import Testing

@testable import SignalboxSQL

/// Functions that read the message, the services or the shadow store.
struct FunctionsContextTests {
    typealias H = FunctionHarness

    @Test func topicExamplesOfTheGuide() throws {
        let frame = H.frame(topic: "things/myThings/thingOne")
        #expect(try H.call("topic", [], frame: frame) == "things/myThings/thingOne")
        #expect(try H.call("topic", [1], frame: frame) == "things")
        #expect(try H.call("topic", [3], frame: frame) == "thingOne")
    }

    @Test func topicOfBasicIngestOmitsTheRulePrefix() throws {
        let frame = H.frame(topic: "$aws/rules/BuildingManager/Buildings/Building5/Floor2/Room201/Lights")
        #expect(try H.call("topic", [], frame: frame) == "Buildings/Building5/Floor2/Room201/Lights")
        #expect(try H.call("topic", [3], frame: frame) == "Floor2")
        #expect(try H.call("topic", [6], frame: frame) == nil)
    }

    @Test(
        arguments: [
            (0, nil), (-1, nil), (4, nil), (2, "myThings"), (1.2, "things"), ("2", "myThings"),
        ] as [(Value?, Value?)])
    func topicLevels(_ level: Value?, _ expected: Value?) throws {
        #expect(try H.call("topic", [level], frame: H.frame()) == expected)
    }

    @Test(arguments: [Value.null, .bool(true), .string("x"), .array([1])] as [Value?] + [nil])
    func topicWithANonNumberIsUndefined(_ level: Value?) throws {
        #expect(try H.call("topic", [level], frame: H.frame()) == nil)
    }

    @Test func topicKeepsEmptyLevels() throws {
        let frame = H.frame(topic: "a//c/")
        #expect(try H.call("topic", [2], frame: frame) == "")
        #expect(try H.call("topic", [4], frame: frame) == "")
        #expect(try H.call("topic", [5], frame: frame) == nil)
    }

    @Test func messageContext() throws {
        let frame = H.frame(
            clientID: "123456789012", principal: "ba67293af50bf2506f5f93469686da660c7c844e7b3950bfb16813e0d31e9373",
            traceID: "12345678-1234-1234-1234-123456789012", accountID: "123456789012", sourceIP: "10.1.2.3")
        #expect(try H.call("clientid", [], frame: frame) == "123456789012")
        #expect(
            try H.call("principal", [], frame: frame)
                == "ba67293af50bf2506f5f93469686da660c7c844e7b3950bfb16813e0d31e9373")
        #expect(try H.call("traceid", [], frame: frame) == "12345678-1234-1234-1234-123456789012")
        #expect(try H.call("sourceip", [], frame: frame) == "10.1.2.3")
        #expect(try H.call("timestamp", [], frame: frame) == 1_481_825_251_155)
        #expect(try H.call("accountid", [], frame: frame) == "123456789012")
    }

    /// accountid() and traceid() read the message they run for; neither is folded into a constant.
    @Test(
        arguments: [
            ("123456789012", "42", #"{"a":"123456789012","t":"42"}"#),
            (nil, "7", #"{"t":"7"}"#), ("000000000000", nil, #"{"a":"000000000000"}"#), (nil, nil, "{}"),
        ] as [(String?, String?, String)])
    func accountAndTraceComeFromTheMessage(_ account: String?, _ trace: String?, _ expected: String) throws {
        let statement = try Statement("SELECT accountid() AS a, traceid() AS t FROM '#'")
        let message = Message(topic: "t", payload: [], timestamp: 0, traceID: trace, accountID: account)
        #expect(try statement.evaluate(message).output == .json(json(expected)))
    }

    @Test func missingContext() throws {
        let frame = H.frame()
        // clientid() is "n/a" for messages that did not come over MQTT; traceid() is Undefined.
        #expect(try H.call("clientid", [], frame: frame) == "n/a")
        #expect(try H.call("traceid", [], frame: frame) == nil)
        #expect(try H.call("principal", [], frame: frame) == nil)
        #expect(try H.call("sourceip", [], frame: frame) == nil)
    }

    @Test func servicesAndConstants() throws {
        #expect(try H.call("newuuid", []) == "123a4567-b89c-12d3-e456-789012345000")
        #expect(try H.call("rand", []) == 0.8231909191640703)
        #expect(try H.call("sql_version", []) == "2016-03-23")
        // A message without an account (the runtime always gives one): accountid() is Undefined.
        #expect(try H.call("accountid", []) == nil)
    }

    @Test func realServicesGiveFreshValues() throws {
        let frame = EvaluationFrame(
            message: Message(topic: "t", json: .null, timestamp: 0), services: EvaluationServices())
        let a = try H.call("newuuid", [], frame: frame)
        let b = try H.call("newuuid", [], frame: frame)
        #expect(a != b)
        guard case .string(let uuid) = a else {
            Issue.record("newuuid is not a string")
            return
        }
        #expect(uuid.utf8.count == 36)
        guard case .double(let r) = try H.call("rand", [], frame: frame) else {
            Issue.record("rand is not a Decimal")
            return
        }
        #expect(r >= 0 && r < 1)
    }

    @Test func mqttProperties() throws {
        let frame = H.frame(mqttProperties: [
            "content_type": "application/json", "format_indicator": "UTF8_DATA", "response_topic": "replies/1",
            "correlation_data": "Y2lk",
        ])
        #expect(try H.call("get_mqtt_property", ["content_type"], frame: frame) == "application/json")
        #expect(try H.call("get_mqtt_property", ["format_indicator"], frame: frame) == "UTF8_DATA")
        #expect(try H.call("get_mqtt_property", ["response_topic"], frame: frame) == "replies/1")
        #expect(try H.call("get_mqtt_property", ["correlation_data"], frame: frame) == "Y2lk")
        #expect(try H.call("get_mqtt_property", ["CONTENT_TYPE"], frame: frame) == "application/json")
        #expect(try H.call("get_mqtt_property", ["message_expiry"], frame: frame) == nil)
        #expect(try H.call("get_mqtt_property", [.null], frame: frame) == nil)
        #expect(try H.call("get_mqtt_property", [nil], frame: frame) == nil)
    }

    @Test func userProperties() throws {
        let frame = H.frame(userProperties: [("k", "v1"), ("o", "ov"), ("k", "v2")])
        #expect(try H.call("get_user_properties", ["k"], frame: frame) == ["v1", "v2"])
        #expect(try H.call("get_user_properties", ["o"], frame: frame) == ["ov"])
        #expect(try H.call("get_user_properties", ["missing"], frame: frame) == nil)
        #expect(try H.call("get_user_properties", [nil], frame: frame) == nil)
        #expect(try H.call("get_user_properties", [], frame: frame) == [["k": "v1"], ["o": "ov"], ["k": "v2"]])
        #expect(try H.call("get_user_properties", [], frame: H.frame()) == nil)
    }

    static let shadowDocument: Value = [
        "state": ["reported": ["alarm": "ON"], "desired": ["maxTemp": 8]], "version": 3,
    ]
    static let namedDocument: Value = ["state": ["reported": ["alarm": "OFF"]]]

    static var store: GivenShadowDocuments {
        var store = GivenShadowDocuments()
        store.set(thing: "MyThing", document: shadowDocument)
        store.set(thing: "MyThing", shadowName: "MyThingShadow", document: namedDocument)
        return store
    }

    @Test func getShadow() throws {
        let frame = H.frame(shadows: Self.store)
        #expect(try H.call("get_shadow", ["MyThing"], frame: frame) == Self.shadowDocument)
        #expect(try H.call("get_shadow", ["MyThing", "MyThingShadow"], frame: frame) == Self.namedDocument)
        #expect(try H.call("get_shadow", ["MyThing"], frame: frame)?["state"]?["desired"]?["maxTemp"] == 8)
        #expect(try H.call("get_shadow", ["Other"], frame: frame) == nil)
        #expect(try H.call("get_shadow", ["MyThing", "nope"], frame: frame) == nil)
        #expect(try H.call("get_shadow", [.null], frame: frame) == nil)
        #expect(try H.call("get_shadow", [nil], frame: frame) == nil)
        #expect(try H.call("get_shadow", ["MyThing", nil], frame: frame) == nil)
        // No shadow store configured: Undefined.
        #expect(try H.call("get_shadow", ["MyThing"], frame: H.frame()) == nil)
    }

    @Test func getThingShadowExamplesOfTheGuide() throws {
        let frame = H.frame(shadows: Self.store)
        let role = "arn:aws:iam::123456789012:role/AllowsThingShadowAccess"
        // get_thing_shadow("MyThing","MyThingShadow",roleArn).state.reported.alarm
        let named = try H.call("get_thing_shadow", ["MyThing", "MyThingShadow", .string(role)], frame: frame)
        #expect(named?["state"]?["reported"]?["alarm"] == "OFF")
        // get_thing_shadow("MyThing",roleArn).state.reported.alarm = 'ON'
        let classic = try H.call("get_thing_shadow", ["MyThing", .string(role)], frame: frame)
        #expect(classic?["state"]?["reported"]?["alarm"] == "ON")
        #expect(try H.call("get_thing_shadow", ["MyThing", .string(role)], frame: H.frame()) == nil)
    }

    struct FailingLookup: ShadowLookup {
        struct Failure: Error {}
        func shadowDocument(thing: String, shadowName: String?) throws -> Value? { throw Failure() }
    }

    @Test func aFailingShadowStoreIsAnEvaluationErrorWithoutNames() throws {
        let frame = H.frame(shadows: FailingLookup())
        #expect(throws: EvaluationError.self) { try H.call("get_shadow", ["SecretThing"], frame: frame) }
        do {
            _ = try H.call("get_thing_shadow", ["SecretThing", "arn"], frame: frame)
        } catch let error as EvaluationError {
            #expect(!error.message.contains("SecretThing"))
        }
    }
}
