// Reading, from the host, a file that a sandbox can write (envd's log in its writable layer): the
// sandbox may have put a symlink to a host file, a FIFO or a huge file there.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** The text of a file the sandbox can write, read safely from the host: a symlink is not
 *  followed, a FIFO does not block, anything but a regular file reads as empty, and only the
 *  last `limit` bytes are read. */
export async function readSandboxFile(file: string, limit: number): Promise<string> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return '';
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return '';
    const length = Math.min(st.size, limit);
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, st.size - length);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

