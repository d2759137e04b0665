"""An AWS Lambda Python handler, unchanged: run by awslambdaric in the worker tests."""


def handler(event, context):
    if "raise" in event:
        raise ValueError(event["raise"])
    print("handling " + context.aws_request_id)
    return {
        "echo": event.get("echo"),
        "requestId": context.aws_request_id,
        "remainingPositive": context.get_remaining_time_in_millis() > 0,
        "functionName": context.function_name,
    }
