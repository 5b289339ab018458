//! Tests for the `aws_cloudtrail` mapping.
use crate::support::*;

const IAM_USER_CALL: &str = r#"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEPRINCIPAL1","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","accessKeyId":"AKIAEXAMPLEKEY000001","userName":"alice"},"eventTime":"2024-03-15T11:58:02Z","eventSource":"s3.amazonaws.com","eventName":"CreateBucket","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.24","userAgent":"aws-cli/2.15.0","requestParameters":{"bucketName":"reports-2024","Host":"reports-2024.s3.eu-west-1.amazonaws.com"},"responseElements":null,"requestID":"8X2F6C1EXAMPLE","eventID":"3b5f8a64-1c3d-4f0e-9a55-0123456789ab","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}"#;

#[test]
fn iam_user_api_call() {
    let v = normalise("aws_cloudtrail", IAM_USER_CALL);
    assert_eq!(v["class_uid"], 6003);
    assert_eq!(v["class_name"], "API Activity");
    assert_eq!(v["activity_name"], "Create");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["severity_id"], 1);
    assert_eq!(v["time"], ms("2024-03-15T11:58:02Z"));
    assert_eq!(v["actor"]["user"]["name"], "alice");
    assert_eq!(v["src_endpoint"]["ip"], "203.0.113.24");
    assert!(v["src_endpoint"].get("hostname").is_none());
    assert_eq!(v["metadata"]["event_code"], "CreateBucket");
    assert_eq!(
        v["message"], "s3.amazonaws.com: CreateBucket",
        "the message is the call, not the raw record"
    );
    assert_eq!(v["metadata"]["uid"], "3b5f8a64-1c3d-4f0e-9a55-0123456789ab");
    assert_eq!(
        v["metadata"]["product"]["vendor_name"],
        "Amazon Web Services"
    );
    assert_eq!(v["metadata"]["product"]["name"], "CloudTrail");
    assert_eq!(v["unmapped"]["eventSource"], "s3.amazonaws.com");
    assert_eq!(v["unmapped"]["awsRegion"], "eu-west-1");
    assert_eq!(v["unmapped"]["userIdentity.type"], "IAMUser");
    // The identities not chosen as the actor are kept.
    assert_eq!(
        v["unmapped"]["userIdentity.arn"],
        "arn:aws:iam::123456789012:user/alice"
    );
    assert_eq!(
        v["unmapped"]["userIdentity.principalId"],
        "AIDAEXAMPLEPRINCIPAL1"
    );
    assert_eq!(
        v["unmapped"]["requestParameters.bucketName"],
        "reports-2024"
    );
    assert_eq!(v["unmapped"]["recipientAccountId"], "123456789012");
    assert_eq!(v["tocsin"]["entity"], "s3.amazonaws.com");
    assert_eq!(detect(IAM_USER_CALL).as_deref(), Some("aws_cloudtrail"));
}

#[test]
fn failed_call_by_assumed_role_from_ipv6() {
    let line = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEROLEID:ci-runner","arn":"arn:aws:sts::123456789012:assumed-role/DeployRole/ci-runner","accountId":"123456789012","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLEROLEID","arn":"arn:aws:iam::123456789012:role/DeployRole","accountId":"123456789012","userName":"DeployRole"},"attributes":{"creationDate":"2024-03-15T11:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2024-03-15T11:59:30Z","eventSource":"ec2.amazonaws.com","eventName":"TerminateInstances","awsRegion":"us-east-1","sourceIPAddress":"2001:db8:85a3::8a2e:370:7334","userAgent":"Boto3/1.34.0","errorCode":"Client.UnauthorizedOperation","errorMessage":"You are not authorized to perform this operation.","requestParameters":{"instancesSet":{"items":[{"instanceId":"i-0abc123def4567890"}]}},"responseElements":null,"eventID":"f0e1d2c3-b4a5-4968-8776-5a4b3c2d1e0f","eventType":"AwsApiCall","recipientAccountId":"123456789012"}"#;
    let v = normalise("aws_cloudtrail", line);
    assert_eq!(v["class_uid"], 6003);
    assert_eq!(v["activity_name"], "Delete");
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["severity_id"], 2);
    assert_eq!(v["time"], ms("2024-03-15T11:59:30Z"));
    // No userName: the role behind the session.
    assert_eq!(v["actor"]["user"]["name"], "DeployRole");
    assert_eq!(v["src_endpoint"]["ip"], "2001:db8:85a3::8a2e:370:7334");
    assert_eq!(v["metadata"]["event_code"], "TerminateInstances");
    assert_eq!(v["unmapped"]["errorCode"], "Client.UnauthorizedOperation");
    assert_eq!(
        v["unmapped"]["errorMessage"],
        "You are not authorized to perform this operation."
    );
    assert_eq!(detect(line).as_deref(), Some("aws_cloudtrail"));
}

#[test]
fn service_caller_instead_of_an_address() {
    let line = r#"{"eventVersion":"1.08","userIdentity":{"type":"AWSService","invokedBy":"autoscaling.amazonaws.com"},"eventTime":"2024-03-15T10:00:00.123Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"ap-southeast-2","sourceIPAddress":"autoscaling.amazonaws.com","userAgent":"autoscaling.amazonaws.com","requestParameters":null,"responseElements":null,"eventID":"11111111-2222-4333-8444-555555555555","eventType":"AwsApiCall","recipientAccountId":"123456789012"}"#;
    let v = normalise("aws_cloudtrail", line);
    assert_eq!(v["src_endpoint"]["hostname"], "autoscaling.amazonaws.com");
    assert!(v["src_endpoint"].get("ip").is_none());
    assert_eq!(v["actor"]["user"]["name"], "autoscaling.amazonaws.com");
    assert_eq!(v["time"], ms("2024-03-15T10:00:00.123Z"));
    assert_eq!(v["activity_name"], "Create");
    assert_eq!(v["status"], "Success");
    assert_eq!(detect(line).as_deref(), Some("aws_cloudtrail"));

    // `AWS Internal` and a root user known only by its ARN.
    let line = r#"{"eventVersion":"1.08","userIdentity":{"type":"Root","principalId":"123456789012","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012"},"eventTime":"2024-03-15T09:00:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","sourceIPAddress":"AWS Internal","eventID":"22222222-3333-4444-8555-666666666666","eventType":"AwsApiCall"}"#;
    let v = normalise("aws_cloudtrail", line);
    assert_eq!(v["src_endpoint"]["hostname"], "AWS Internal");
    assert_eq!(v["actor"]["user"]["name"], "arn:aws:iam::123456789012:root");
    assert_eq!(v["activity_name"], "Read");
}

#[test]
fn console_login_success_and_failure_are_authentication() {
    let ok = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEPRINCIPAL2","arn":"arn:aws:iam::123456789012:user/bob","accountId":"123456789012","userName":"bob"},"eventTime":"2024-03-15T08:15:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.77","userAgent":"Mozilla/5.0","requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"LoginTo":"https://console.aws.amazon.com/","MobileVersion":"No","MFAUsed":"Yes"},"eventID":"33333333-4444-4555-8666-777777777777","eventType":"AwsConsoleSignIn","recipientAccountId":"123456789012"}"#;
    let v = normalise("aws_cloudtrail", ok);
    assert_eq!(v["class_uid"], 3002);
    assert_eq!(v["class_name"], "Authentication");
    assert_eq!(v["activity_name"], "Logon");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["actor"]["user"]["name"], "bob");
    assert_eq!(v["src_endpoint"]["ip"], "198.51.100.77");
    assert_eq!(v["metadata"]["event_code"], "ConsoleLogin");
    assert_eq!(v["unmapped"]["additionalEventData.MFAUsed"], "Yes");
    assert_eq!(detect(ok).as_deref(), Some("aws_cloudtrail"));

    let failed = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEPRINCIPAL2","accountId":"123456789012","accessKeyId":"","userName":"bob"},"eventTime":"2024-03-15T08:14:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.77","userAgent":"Mozilla/5.0","errorMessage":"Failed authentication","requestParameters":null,"responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No"},"eventID":"44444444-5555-4666-8777-888888888888","eventType":"AwsConsoleSignIn"}"#;
    let v = normalise("aws_cloudtrail", failed);
    assert_eq!(v["class_uid"], 3002);
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["severity_id"], 2);
    assert_eq!(v["actor"]["user"]["name"], "bob");
    assert_eq!(v["time"], ms("2024-03-15T08:14:00Z"));
}

#[test]
fn record_behind_a_syslog_header_with_unicode() {
    let line = r#"<14>Mar 15 12:00:00 ct-forwarder cloudtrail: {"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEPRINCIPAL3","arn":"arn:aws:iam::123456789012:user/zoë","accountId":"123456789012","userName":"zoë"},"eventTime":"2024-03-15T11:00:00Z","eventSource":"s3.amazonaws.com","eventName":"PutObject","awsRegion":"eu-central-1","sourceIPAddress":"192.0.2.10","requestParameters":{"key":"berichte/übersicht.pdf"},"eventID":"55555555-6666-4777-8888-999999999999","eventType":"AwsApiCall"}"#;
    let v = normalise("aws_cloudtrail", line);
    assert_eq!(v["actor"]["user"]["name"], "zoë");
    assert_eq!(v["time"], ms("2024-03-15T11:00:00Z"));
    assert_eq!(v["activity_name"], "Update");
    assert_eq!(v["device"]["hostname"], "ct-forwarder");
    assert_eq!(
        v["unmapped"]["requestParameters.key"],
        "berichte/übersicht.pdf"
    );
    assert_eq!(detect(line).as_deref(), Some("aws_cloudtrail"));
}

#[test]
fn minimal_record_with_missing_identity_fields() {
    // Only a principal id, no region or address: what is there is mapped, nothing invented.
    let line = r#"{"eventVersion":"1.05","userIdentity":{"type":"AWSAccount","principalId":"AIDAEXAMPLEPRINCIPAL4"},"eventTime":"2024-03-15T07:00:00Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventID":"66666666-7777-4888-8999-000000000000"}"#;
    let v = normalise("aws_cloudtrail", line);
    assert_eq!(v["actor"]["user"]["name"], "AIDAEXAMPLEPRINCIPAL4");
    assert!(v.get("src_endpoint").is_none());
    assert_eq!(v["activity_name"], "Other");
    assert_eq!(v["status"], "Success");
    assert_eq!(detect(line).as_deref(), Some("aws_cloudtrail"));
}

#[test]
fn record_wrapped_in_an_eventbridge_event() {
    let line = r#"{"version":"0","id":"0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","account":"123456789012","time":"2024-03-15T11:30:05Z","region":"us-east-1","resources":[],"detail":{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEPRINCIPAL5","arn":"arn:aws:iam::123456789012:user/carol","accountId":"123456789012","userName":"carol"},"eventTime":"2024-03-15T11:30:00Z","eventSource":"iam.amazonaws.com","eventName":"DeleteUser","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.200","requestParameters":{"userName":"mallory"},"responseElements":null,"eventID":"77777777-8888-4999-8aaa-bbbbbbbbbbbb","eventType":"AwsApiCall"}}"#;
    let v = normalise("aws_cloudtrail", line);
    assert_eq!(v["class_uid"], 6003);
    assert_eq!(v["activity_name"], "Delete");
    assert_eq!(v["time"], ms("2024-03-15T11:30:00Z"));
    assert_eq!(v["actor"]["user"]["name"], "carol");
    assert_eq!(v["src_endpoint"]["ip"], "192.0.2.200");
    assert_eq!(v["metadata"]["event_code"], "DeleteUser");
    assert_eq!(v["metadata"]["uid"], "77777777-8888-4999-8aaa-bbbbbbbbbbbb");
    assert_eq!(v["unmapped"]["requestParameters.userName"], "mallory");
    assert!(v["unmapped"].get("detail-type").is_none());
    assert_eq!(detect(line).as_deref(), Some("aws_cloudtrail"));
}
