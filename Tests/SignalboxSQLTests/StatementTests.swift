import SignalboxJSON
import Testing

@testable import SignalboxSQL

/// Clauses and statements, with the AWS IoT SQL reference's own examples.
struct StatementTests {
    struct Case: CustomStringConvertible, Sendable {
        var sql: String
        var payload: String
        var expected: String?  // JSON text of the output; nil when the WHERE is not true
        var description: String { sql }
        init(_ sql: String, _ payload: String, _ expected: String?) {
            self.sql = sql
            self.payload = payload
            self.expected = expected
        }
    }

    static let guideExamples: [Case] = [
        // SELECT clause page.
        Case(
            "SELECT * FROM 'topic/subtopic'", #"{"color":"red", "temperature":50}"#,
            #"{"color":"red","temperature":50}"#),
        Case("SELECT color FROM 'topic/subtopic'", #"{"color":"red", "temperature":50}"#, #"{"color":"red"}"#),
        Case(
            "SELECT color AS my_color FROM 'topic/subtopic'", #"{"color":"red", "temperature":50}"#,
            #"{"my_color":"red"}"#),
        Case(
            "SELECT color as my_color, temperature as fahrenheit FROM 'topic/subtopic'",
            #"{"color":"red", "temperature":50}"#, #"{"my_color":"red","fahrenheit":50}"#),
        Case(
            "SELECT *, 15 as speed FROM 'topic/subtopic'", #"{"color":"red", "temperature":50}"#,
            #"{"color":"red","temperature":50,"speed":15}"#),
        Case("SELECT VALUE color FROM 'topic/subtopic'", #"{"color":"red", "temperature":50}"#, #""red""#),
        Case(
            "SELECT color.red as red_value FROM 'topic/subtopic'",
            #"{"color":{"red":255,"green":0,"blue":0}, "temperature":50}"#, #"{"red_value":255}"#),
        Case(
            "SELECT (temperature - 32) * 5 / 9 AS celsius, upper(color) as my_color FROM 'topic/subtopic'",
            #"{"color":"red", "temperature":50}"#, #"{"celsius":10,"my_color":"RED"}"#),
        // Overview page.
        Case(
            "SELECT color AS rgb FROM 'topic/subtopic' WHERE temperature > 50", #"{"color":"red","temperature":100}"#,
            #"{"rgb":"red"}"#),
        // WHERE clause page: the rule is triggered but the actions are not performed.
        Case(
            "SELECT color AS my_color FROM 'topic/subtopic' WHERE temperature > 50 AND color <> 'red'",
            #"{"color":"red", "temperature":40}"#, nil),
        // SQL versions page: SELECT VALUE of an array.
        Case("SELECT VALUE arr FROM 'topic'", #"{"a": {"b":"c"}, "arr":[1,2,3,4]}"#, "[1,2,3,4]"),
        // Literals page.
        Case(
            "SELECT {'latitude': get(lat_long, 0),'longitude':get(lat_long, 1)} as lat_long FROM 'topic/subtopic'",
            #"{"lat_long": [47.606,-122.332]}"#, #"{"lat_long":{"latitude":47.606,"longitude":-122.332}}"#),
        Case(
            "SELECT [lat,long] as lat_long FROM 'topic/subtopic'", #"{"lat": 47.606, "long": -122.332}"#,
            #"{"lat_long":[47.606,-122.332]}"#),
        // CASE page.
        Case(
            "SELECT CASE color WHEN 'green' THEN 'go' WHEN 'yellow' THEN 'caution' WHEN 'red' THEN 'stop' ELSE 'you are not at a stop light' END as instructions FROM 'topic/subtopic'",
            #"{"color":"yellow"}"#, #"{"instructions":"caution"}"#),
        // Nested object queries page.
        Case(
            "SELECT (SELECT VALUE n FROM e) as sensors FROM 'my/topic'", Self.senml,
            #"{"sensors":["temperature","light","acidity"]}"#),
        Case(
            "SELECT (SELECT v FROM e WHERE n = 'temperature') as temperature FROM 'my/topic'", Self.senml,
            #"{"temperature":[{"v":22.5}]}"#),
        Case(
            "SELECT get((SELECT v FROM e WHERE n = 'temperature'), 0).v as temperature FROM 'topic'", Self.senml,
            #"{"temperature":22.5}"#),
        // JSON extensions page.
        Case(
            #"SELECT * from 'iot/rules' WHERE get(get(get(mydata,"item2"),"0"),"my-key") = "myValue""#,
            #"{"mydata":{"item2":{"0":{"my-key":"myValue"}}}}"#, #"{"mydata":{"item2":{"0":{"my-key":"myValue"}}}}"#),
        Case(
            "SELECT temp, md5(deviceid) AS hashed_id FROM 'topic/#'", #"{"temp": 54.98, "deviceid": "a"}"#,
            #"{"temp":54.98,"hashed_id":"0cc175b9c0f1b6a831c399e269772661"}"#),
        // SET clause page.
        Case(
            "SET @device_sensor_data = device1.deviceData.sensors SELECT @device_sensor_data.temp_fahrenheit AS temp_fahrenheit, @device_sensor_data.humidity as humidity, device1.deviceId as deviceId FROM 'device/data'",
            #"{"device1":{"deviceId":"weather_sensor","deviceData":{"sensors":{"temp_fahrenheit":75,"humidity":60}}}}"#,
            #"{"temp_fahrenheit":75,"humidity":60,"deviceId":"weather_sensor"}"#),
        Case(
            "SET @threshold = 50, @double = @threshold * 2 SELECT temp_fahrenheit, @double AS d FROM 'sensors/+' WHERE temp_fahrenheit > @threshold",
            #"{"temp_fahrenheit":75}"#, #"{"temp_fahrenheit":75,"d":100}"#),
        Case(
            "SET @threshold = 80 SELECT temp FROM 'sensors/+' WHERE temp > @threshold", #"{"temp":75}"#, nil),
    ]

    static let senml =
        #"{"e":[{"n":"temperature","u":"Cel","t":1234,"v":22.5},{"n":"light","u":"lm","t":1235,"v":135},{"n":"acidity","u":"pH","t":1235,"v":7}]}"#

    static let choices: [Case] = [
        // Undefined items are omitted; Null is kept.
        Case("SELECT a, b, c FROM 't'", #"{"a":1,"c":null}"#, #"{"a":1,"c":null}"#),
        // Default names: attribute and path → last name; variable → its name; function → its name;
        // anything else → _N by position.
        Case(
            "SET @v = 7 SELECT a.b, 1 + 1, upper(s), @v FROM 't'",
            #"{"a":{"b":2},"s":"x"}"#, #"{"b":2,"_2":2,"upper":"X","v":7}"#),
        // A dotted alias nests the value.
        Case(
            "SELECT temp AS reading.celsius, unit AS reading.unit FROM 't'", #"{"temp":4,"unit":"C"}"#,
            #"{"reading":{"celsius":4,"unit":"C"}}"#),
        // A later item with the same name replaces the earlier value, in place.
        Case("SELECT *, 'x' AS color FROM 't'", #"{"color":"red","t":1}"#, #"{"color":"x","t":1}"#),
        // WHERE fires only on Boolean true: not on "true", 1 or Undefined.
        Case("SELECT a FROM 't' WHERE 'true'", #"{"a":1}"#, nil),
        Case("SELECT a FROM 't' WHERE 1", #"{"a":1}"#, nil),
        Case("SELECT a FROM 't' WHERE missing", #"{"a":1}"#, nil),
        Case("SELECT a FROM 't' WHERE b", #"{"a":1,"b":true}"#, #"{"a":1}"#),
        // SELECT VALUE of an object, a number; Undefined in arrays and objects is dropped.
        Case("SELECT VALUE {'k': a, 'm': missing} FROM 't'", #"{"a":1}"#, #"{"k":1}"#),
        Case("SELECT VALUE [a, missing, 3] FROM 't'", #"{"a":1}"#, "[1,3]"),
        // Searched CASE (an extension; AWS documents the simple form only).
        Case(
            "SELECT CASE WHEN t > 8 THEN 'warm' WHEN t > 2 THEN 'ok' ELSE 'cold' END AS s FROM 'x'", #"{"t":5}"#,
            #"{"s":"ok"}"#),
        // CASE: subject Undefined → Undefined even with ELSE; no match and no ELSE → Undefined.
        Case("SELECT CASE missing WHEN 1 THEN 'a' ELSE 'b' END AS s FROM 'x'", "{}", "{}"),
        Case("SELECT CASE 3 WHEN 1 THEN 'a' END AS s FROM 'x'", "{}", "{}"),
        Case("SELECT CASE 1.0 WHEN 1 THEN 'one' END AS s FROM 'x'", "{}", #"{"s":"one"}"#),
        // Indexing (an extension): arrays by 0-based position, objects by key.
        Case("SELECT a[1] AS x, o['k'] AS y, a[5] AS z FROM 't'", #"{"a":[1,2],"o":{"k":3}}"#, #"{"x":2,"y":3}"#),
        // Backquoted names (an extension) reach keys that are not identifiers.
        Case("SELECT `my-key` AS k, `value` FROM 't'", #"{"my-key":1,"value":2}"#, #"{"k":1,"value":2}"#),
        // Nested query over an object (the guide's transform() example 3): one value, not an array.
        Case(
            "SELECT VALUE transform('enrichArray', (SELECT a, b FROM data2), (SELECT VALUE c FROM data2)) FROM 'A/B'",
            #"{"data1":"example","data2":{"a":"first attribute","b":"second attribute","c":[{"x":{"someInt":5},"y":true},{"x":{"someInt":10},"y":false}]}}"#,
            #"[{"x":{"someInt":5},"y":true,"a":"first attribute","b":"second attribute"},{"x":{"someInt":10},"y":false,"a":"first attribute","b":"second attribute"}]"#
        ),
        Case(
            "SELECT (SELECT a, b FROM o) AS pair, (SELECT VALUE a FROM o) AS a, (SELECT a FROM o WHERE a > 5) AS none FROM 't'",
            #"{"o":{"a":1,"b":2,"c":3}}"#, #"{"pair":{"a":1,"b":2},"a":1}"#),
        Case(
            "SELECT (SELECT * FROM o WHERE a = 1) AS whole, (SELECT VALUE missing FROM o) AS gone FROM 't'",
            #"{"o":{"a":1}}"#, #"{"whole":{"a":1}}"#),
        // Nested query: empty result is an empty array; a source that is neither an array nor an
        // object is Undefined.
        Case(
            "SELECT (SELECT v FROM e WHERE v > 100) AS big, (SELECT v FROM nope) AS none, (SELECT v FROM s) AS text FROM 't'",
            #"{"e":[{"v":1}],"s":"abc"}"#, #"{"big":[]}"#),
        // Nested query sees SET variables.
        Case(
            "SET @min = 100 SELECT (SELECT VALUE n FROM e WHERE v > @min) AS bright FROM 't'", Self.senml,
            #"{"bright":["light"]}"#),
        // Comments are accepted.
        Case("SELECT a -- the reading\n FROM 't' /* all topics */", #"{"a":1}"#, #"{"a":1}"#),
        // Attributes are read from the payload on demand: a repeated key gives its last value, an
        // escaped key matches its text, and a payload that is not an object has no attributes.
        Case(
            "SELECT a, key, `é` AS e FROM 't'", #"{"a":1,"k\u0065y":"v","a":2,"\u00e9":3}"#, #"{"a":2,"key":"v","e":3}"#
        ),
        Case("SELECT a FROM 't'", "[1,2]", "{}"),
        Case("SELECT VALUE * FROM 't'", "[1,2]", "[1,2]"),
        // Keywords are case-insensitive.
        Case("select value a from 't' where a = 1", #"{"a":1}"#, "1"),
    ]

    @Test(arguments: guideExamples)
    func guideExample(_ example: Case) throws {
        let output = try run(example.sql, payload: example.payload)
        #expect(output == example.expected.map { .json(json($0)) })
    }

    @Test(arguments: choices)
    func documentedChoice(_ example: Case) throws {
        let output = try run(example.sql, payload: example.payload)
        #expect(output == example.expected.map { .json(json($0)) })
    }

    @Test(arguments: guideExamples + choices)
    func matchingAgreesWithEvaluating(_ example: Case) throws {
        let statement = try Statement(example.sql)
        let message = Message(topic: "t", payload: Array(example.payload.utf8), timestamp: 1_700_000_000_000)
        let output = try statement.evaluate(in: statement.makeFrame(for: message))
        #expect(try statement.matches(in: statement.makeFrame(for: message)) == (output != nil))
        // Where the output is the whole payload, the payload's own bytes can stand in for it.
        if statement.selectsWholePayload, output != nil, message.isJSON {
            #expect(output == .json(try JSONParser.parse(Array(example.payload.utf8))))
        }
    }

    @Test func onlyAStarAloneSelectsTheWholePayload() throws {
        for sql in ["SELECT * FROM 't'", "SELECT VALUE * FROM 't' WHERE a > 1", "select * from 'a/#'"] {
            #expect(try Statement(sql).selectsWholePayload, "\(sql)")
        }
        for sql in [
            "SELECT *, 1 AS one FROM 't'", "SELECT a FROM 't'", "SELECT VALUE a FROM 't'",
            "SELECT (SELECT * FROM items) AS xs FROM 't'",
        ] {
            #expect(try !Statement(sql).selectsWholePayload, "\(sql)")
        }
    }

    @Test func outputKeepsSelectOrder() throws {
        let output = try run("SELECT b, a, *, 'z' AS z FROM 't'", payload: #"{"a":1,"b":2,"c":3}"#)
        guard case .json(.object(let object)) = output else {
            Issue.record("expected an object")
            return
        }
        #expect(object.keys == ["b", "a", "c", "z"])
    }

    /// WHERE stops evaluating `A AND B` once A is not true; it must fire exactly when the full
    /// operator table gives `true`.
    @Test func shortCircuitedConditionsAgreeWithTheOperatorTable() throws {
        let operands: [String] = ["true", "false", "'TRUE'", "'false'", "1", "null", "missing", "'x'"]
        let shapes = ["%a AND %b", "(%a AND %b) AND %c", "%a AND (%b OR %c)", "NOT (%a AND %b)", "%a OR %b AND %c"]
        for shape in shapes {
            for a in operands {
                for b in operands {
                    for c in ["true", "'false'", "missing"] {
                        let condition = shape.replacing("%a", with: a).replacing("%b", with: b).replacing("%c", with: c)
                        let fired = try run("SELECT 1 AS one FROM 't' WHERE \(condition)") != nil
                        let full = try value(condition)
                        #expect(fired == (full == .bool(true)), "\(condition)")
                    }
                }
            }
        }
    }

    // MARK: Binary payloads

    @Test func binaryPayloadPassesThroughStar() throws {
        let bytes: [UInt8] = [0x00, 0xFF, 0x10, 0x80]
        let statement = try Statement("SELECT * FROM 'a/b'")
        let message = Message(topic: "a/b", payload: bytes, timestamp: 0)
        #expect(try statement.evaluate(message).output == .binary(bytes))
    }

    @Test func binaryPayloadEncodesWithStar() throws {
        let statement = try Statement("SELECT encode(*, 'base64') AS data, timestamp() AS ts FROM 'a/b'")
        let message = Message(topic: "a/b", payload: [0x00, 0xFF, 0x10], timestamp: 1234)
        let output = try statement.evaluate(message).output
        #expect(output == .json(json(#"{"data":"AP8Q","ts":1234}"#)))
    }

    @Test func binaryPayloadAttributesAreUndefined() throws {
        let statement = try Statement("SELECT * FROM 'a/b' WHERE device_type = 'thermostat'")
        let message = Message(topic: "a/b", payload: [0xFF], timestamp: 0)
        #expect(try statement.evaluate(message).output == nil)
        let timed = try Statement("SELECT * FROM 'a/b' WHERE timestamp() % 12 = 0")
        #expect(try timed.evaluate(Message(topic: "a/b", payload: [0xFF], timestamp: 24)).output == .binary([0xFF]))
    }

    @Test func binaryPayloadCannotBeExtended() throws {
        let statement = try Statement("SELECT *, principal() AS p FROM 'a/b'")
        #expect(throws: EvaluationError.self) {
            try statement.evaluate(Message(topic: "a/b", payload: [0xFF], timestamp: 0))
        }
        // An empty payload can be: it contributes no attributes.
        let empty = try statement.evaluate(Message(topic: "a/b", payload: [], timestamp: 0))
        #expect(empty.output == .json(json("{}")))
    }

    @Test func nonJSONNumberPayloadDecodes() throws {
        // The WHERE clause page's example: payload 80, not JSON-wrapped.
        let sql =
            "SELECT decode(encode(*, 'base64'), 'base64') AS value FROM 'topic/subtopic' WHERE decode(encode(*, 'base64'), 'base64') > 50"
        #expect(try run(sql, payload: "80") == .json(json(#"{"value":80}"#)))
    }

    @Test func selectValueOfUndefinedIsAnEmptyPayload() throws {
        #expect(try run("SELECT VALUE missing FROM 't'", payload: "{}") == .binary([]))
    }

    // MARK: Context

    @Test func topicAndClientFunctions() throws {
        let output = try run(
            "SELECT topic() AS t, topic(2) AS d, topic(9) AS none, clientid() AS c FROM 'devices/+/telemetry'",
            topic: "devices/f1/telemetry", clientID: "gw-7")
        #expect(output == .json(json(#"{"t":"devices/f1/telemetry","d":"f1","c":"gw-7"}"#)))
    }

    @Test func topicLevelsSkipTheBasicIngestPrefix() throws {
        // The guide's Basic Ingest example: topic(3) of $aws/rules/BM/Buildings/Building5/Floor2.
        let sql = "SELECT topic(3) AS constant, topic(n) AS computed, topic() AS whole FROM '#'"
        let output = try run(sql, payload: #"{"n":3}"#, topic: "$aws/rules/BM/Buildings/Building5/Floor2")
        #expect(
            output == .json(json(#"{"constant":"Floor2","computed":"Floor2","whole":"Buildings/Building5/Floor2"}"#)))
    }

    @Test func getShadowReadsTheLookup() throws {
        var shadows = GivenShadowDocuments()
        shadows.set(thing: "f1", document: json(#"{"state":{"desired":{"maxTemp":5}}}"#))
        let services = EvaluationServices(shadows: shadows)
        let sql = """
            SET @limit = get_shadow(topic(2)).state.desired.maxTemp
            SELECT topic(2) AS device, temp, @limit AS limit FROM 'devices/+/telemetry' WHERE temp > @limit
            """
        #expect(
            try run(sql, payload: #"{"temp":7}"#, topic: "devices/f1/telemetry", services: services)
                == .json(json(#"{"device":"f1","temp":7,"limit":5}"#)))
        #expect(try run(sql, payload: #"{"temp":3}"#, topic: "devices/f1/telemetry", services: services) == nil)
        // No shadow: @limit is Undefined, so the comparison is Undefined and the rule does not fire.
        #expect(try run(sql, payload: #"{"temp":70}"#, topic: "devices/f2/telemetry", services: services) == nil)
    }
}
