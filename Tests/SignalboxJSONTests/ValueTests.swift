import SignalboxJSON
import Testing

/// `Value`: structural equality keeps kinds apart, subscripts, type names and literals.
struct ValueTests {
    @Test func trueAndOneAreDifferentValues() throws {
        #expect(Value.bool(true) != .int(1))
        #expect(Value.bool(false) != .int(0))
        #expect(Value.bool(true) != .double(1))
        #expect(try JSONParser.parse("true") != JSONParser.parse("1"))
        #expect(try JSONParser.parse("[true]") != JSONParser.parse("[1]"))
        #expect(try JSONParser.parse(#"{"on": true}"#) != JSONParser.parse(#"{"on": 1}"#))
        #expect(Set<Value>([true, 1, 1.0, "1", "true", false, 0, nil]).count == 8)
        #expect(JSONSerializer.string(true) == "true")
        #expect(JSONSerializer.string(1) == "1")
        #expect(try JSONParser.parse("true") == .bool(true))
    }

    @Test func kindsAreKeptApart() {
        #expect(Value.int(1) != .double(1))
        #expect(Value.string("1") != .int(1))
        #expect(Value.null != .string("null"))
        #expect(Value.array([]) != .object([:]))
        #expect(Value.array([1]) != .array([1, 1]))
        #expect(Value.double(0) == .double(-0.0))
        #expect(Value.double(.nan) != .double(.nan))
    }

    static let typeNames: [(value: Value, name: String)] = [
        (nil, "null"), (true, "boolean"), (1, "number"), (1.5, "number"), ("s", "string"), ([], "array"),
        ([:], "object"),
    ]

    @Test(arguments: typeNames)
    func jsonTypeName(value: Value, name: String) {
        #expect(value.jsonTypeName == name)
    }

    @Test func subscripts() {
        let value: Value = ["a": [10, ["b": "deep"]], "n": nil]
        #expect(value["a"]?[0] == 10)
        #expect(value["a"]?[1]?["b"] == "deep")
        #expect(value["n"] == .null)
        #expect(value["missing"] == nil)
        #expect(value["a"]?[2] == nil)
        #expect(value["a"]?[-1] == nil)
        #expect(value[0] == nil)
        #expect(Value.string("abc")["a"] == nil)
        #expect(Value.string("abc")[0] == nil)
    }

    @Test func literals() {
        let value: Value = ["null": nil, "bool": true, "int": 3, "double": 2.5, "string": "s", "array": [1]]
        guard case .object(let object) = value else {
            Issue.record("expected an object")
            return
        }
        #expect(object["null"] == .null)
        #expect(object["bool"] == .bool(true))
        #expect(object["int"] == .int(3))
        #expect(object["double"] == .double(2.5))
        #expect(object["string"] == .string("s"))
        #expect(object["array"] == .array([.int(1)]))
        #expect(object.keys == ["null", "bool", "int", "double", "string", "array"])
    }
}
