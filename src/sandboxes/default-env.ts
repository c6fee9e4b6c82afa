// Variables every process in a sandbox sees, telling code that it runs in a sandbox and which one.
// E2B documents the E2B_* names; the NOVITA_* twins serve code written for the Novita SDK.
export function defaultSandboxEnv(sandboxId: string, templateId: string): Record<string, string> {
  return {
    E2B_SANDBOX: 'true',
    E2B_SANDBOX_ID: sandboxId,
    E2B_TEMPLATE_ID: templateId,
    NOVITA_SANDBOX: 'true',
    NOVITA_SANDBOX_ID: sandboxId,
    NOVITA_TEMPLATE_ID: templateId,
  };
}
