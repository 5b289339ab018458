//! Tests for the `azure_activity` mapping.
use crate::support::*;

const VM_WRITE: &str = r#"{"time":"2024-03-15T11:58:02.1234567Z","resourceId":"/SUBSCRIPTIONS/00000000-1111-2222-3333-444444444444/RESOURCEGROUPS/RG-WEB/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/WEB-01","operationName":"MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE","category":"Administrative","resultType":"Success","resultSignature":"Succeeded.Created","durationMs":"5123","callerIpAddress":"203.0.113.45","correlationId":"7a9c1e2b-3d4f-4a5b-8c6d-7e8f9a0b1c2d","identity":{"authorization":{"scope":"/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-01","action":"Microsoft.Compute/virtualMachines/write"},"claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"alice@contoso.example","name":"Alice Example","appid":"04b07795-8ddb-461a-bbee-02f9e1bf7b46","http://schemas.microsoft.com/identity/claims/objectidentifier":"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"}},"level":"Information","location":"global","properties":{"statusCode":"Created","serviceRequestId":"svc-req-1","eventCategory":"Administrative","entity":"/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-01"}}"#;

#[test]
fn resource_log_schema_write_by_user() {
    let v = normalise("azure_activity", VM_WRITE);
    assert_eq!(v["class_uid"], 6003);
    assert_eq!(v["class_name"], "API Activity");
    assert_eq!(
        v["message"],
        "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE (Success)"
    );
    assert_eq!(v["activity_name"], "Update");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["severity_id"], 1);
    assert_eq!(v["time"], ms("2024-03-15T11:58:02.123Z"));
    assert_eq!(v["actor"]["user"]["name"], "alice@contoso.example");
    assert_eq!(v["src_endpoint"]["ip"], "203.0.113.45");
    assert_eq!(
        v["metadata"]["event_code"],
        "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE"
    );
    assert_eq!(v["metadata"]["product"]["vendor_name"], "Microsoft");
    assert_eq!(v["metadata"]["product"]["name"], "Azure Activity Log");
    assert_eq!(v["unmapped"]["category"], "Administrative");
    assert_eq!(v["unmapped"]["resultType"], "Success");
    assert_eq!(v["unmapped"]["resultSignature"], "Succeeded.Created");
    assert_eq!(v["unmapped"]["properties.statusCode"], "Created");
    assert_eq!(
        v["unmapped"]["identity.claims.appid"],
        "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
    );
    assert_eq!(v["unmapped"]["identity.claims.name"], "Alice Example");
    assert_eq!(
        v["tocsin"]["entity"],
        "/subscriptions/00000000-1111-2222-3333-444444444444/resourcegroups/rg-web/providers/microsoft.compute/virtualmachines/web-01"
    );
    assert_eq!(detect(VM_WRITE).as_deref(), Some("azure_activity"));
}

#[test]
fn failed_delete_by_service_principal_over_ipv6() {
    let line = r#"{"time":"2024-03-15T09:30:00Z","resourceId":"/SUBSCRIPTIONS/00000000-1111-2222-3333-444444444444/RESOURCEGROUPS/RG-DATA/PROVIDERS/MICROSOFT.STORAGE/STORAGEACCOUNTS/LOGSTORE01","operationName":"MICROSOFT.STORAGE/STORAGEACCOUNTS/DELETE","category":"Administrative","resultType":"Failure","resultSignature":"Failed.Forbidden","callerIpAddress":"2001:db8:4::1f","identity":{"claims":{"appid":"11111111-2222-4333-8444-555555555555","http://schemas.microsoft.com/identity/claims/objectidentifier":"99999999-8888-4777-8666-555555555555"}},"level":"Error","properties":{"statusCode":"Forbidden"}}"#;
    let v = normalise("azure_activity", line);
    assert_eq!(v["activity_name"], "Delete");
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["severity_id"], 4);
    assert_eq!(v["time"], ms("2024-03-15T09:30:00Z"));
    // No UPN: the application id.
    assert_eq!(
        v["actor"]["user"]["name"],
        "11111111-2222-4333-8444-555555555555"
    );
    assert_eq!(v["src_endpoint"]["ip"], "2001:db8:4::1f");
    assert_eq!(detect(line).as_deref(), Some("azure_activity"));
}

#[test]
fn rest_schema_with_nested_values() {
    let line = r#"{"authorization":{"action":"Microsoft.Network/networkSecurityGroups/securityRules/write","scope":"/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/nsg-web/securityRules/allow-ssh"},"caller":"bob@contoso.example","category":{"value":"Administrative","localizedValue":"Administrative"},"correlationId":"c0ffee00-1111-4222-8333-444444444444","eventDataId":"d4e5f6a7-0000-4111-8222-333333333333","eventName":{"value":"EndRequest","localizedValue":"End request"},"eventTimestamp":"2024-03-15T10:45:12.5Z","httpRequest":{"clientIpAddress":"198.51.100.200","clientRequestId":"req-42","method":"PUT"},"level":"Informational","operationName":{"value":"Microsoft.Network/networkSecurityGroups/securityRules/write","localizedValue":"Create or Update Security Rule"},"resourceGroupName":"rg-net","resourceId":"/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/nsg-web/securityRules/allow-ssh","status":{"value":"Succeeded","localizedValue":"Succeeded"},"subStatus":{"value":"Created","localizedValue":"Created (HTTP Status Code: 201)"},"submissionTimestamp":"2024-03-15T10:46:00Z","subscriptionId":"00000000-1111-2222-3333-444444444444"}"#;
    let v = normalise("azure_activity", line);
    assert_eq!(v["time"], ms("2024-03-15T10:45:12.5Z"));
    assert_eq!(
        v["metadata"]["event_code"],
        "Microsoft.Network/networkSecurityGroups/securityRules/write"
    );
    assert_eq!(v["metadata"]["uid"], "d4e5f6a7-0000-4111-8222-333333333333");
    assert_eq!(v["actor"]["user"]["name"], "bob@contoso.example");
    assert_eq!(v["src_endpoint"]["ip"], "198.51.100.200");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["activity_name"], "Update");
    assert_eq!(v["severity_id"], 1);
    assert_eq!(v["unmapped"]["category"], "Administrative");
    assert_eq!(v["unmapped"]["httpRequest.method"], "PUT");
    assert_eq!(detect(line).as_deref(), Some("azure_activity"));
}

#[test]
fn started_operation_and_action_without_caller_ip() {
    let line = r#"{"time":"2024-03-15T11:00:00Z","resourceId":"/SUBSCRIPTIONS/00000000-1111-2222-3333-444444444444/RESOURCEGROUPS/RG-WEB/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/WEB-02","operationName":"MICROSOFT.COMPUTE/VIRTUALMACHINES/RESTART/ACTION","category":"Administrative","resultType":"Start","resultSignature":"Started.","identity":{"claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"ops-automation@contoso.example"}},"level":"Information"}"#;
    let v = normalise("azure_activity", line);
    assert_eq!(v["status"], "Unknown");
    assert_eq!(v["activity_name"], "Other");
    assert_eq!(v["actor"]["user"]["name"], "ops-automation@contoso.example");
    assert!(v.get("src_endpoint").is_none());
    assert_eq!(detect(line).as_deref(), Some("azure_activity"));
}

#[test]
fn service_health_record_behind_a_syslog_header() {
    let line = r#"<13>Mar 15 12:00:00 eh-relay azure: {"time":"2024-03-15T11:20:00Z","resourceId":"/SUBSCRIPTIONS/00000000-1111-2222-3333-444444444444","operationName":"Microsoft.ServiceHealth/incident/action","category":"ServiceHealth","resultType":"Active","level":"Warning","properties":{"title":"Degradation – Storage in West Europe","service":"Storage","region":"West Europe","incidentType":"Incident"}}"#;
    let v = normalise("azure_activity", line);
    assert_eq!(v["time"], ms("2024-03-15T11:20:00Z"));
    assert_eq!(v["severity_id"], 3);
    assert_eq!(v["status"], "Unknown");
    assert_eq!(v["unmapped"]["category"], "ServiceHealth");
    assert_eq!(
        v["unmapped"]["properties.title"],
        "Degradation – Storage in West Europe"
    );
    assert_eq!(v["device"]["hostname"], "eh-relay");
    assert_eq!(
        v["tocsin"]["entity"],
        "/subscriptions/00000000-1111-2222-3333-444444444444"
    );
    assert_eq!(detect(line).as_deref(), Some("azure_activity"));
}
