// One command in a new sandbox of a template (the e2b SDK, unmodified), which is killed after.
import { Sandbox } from 'e2b';

export async function runInNewSandbox(template: string, command: string): Promise<string> {
  const sbx = await Sandbox.create(template);
  try {
    return (await sbx.commands.run(command)).stdout;
  } finally {
    await sbx.kill();
  }
}
