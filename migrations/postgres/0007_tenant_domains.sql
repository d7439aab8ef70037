-- A tenant's verified domains. When a tenant has any, every userName must be an address in
-- one of them; `initial` marks the tenant's initial domain (contoso.onmicrosoft.com).

CREATE TABLE tenant_domains (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    domain    TEXT NOT NULL,
    initial   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, domain)
);
