// The CLI bundle's export: `run` starts `tsbpf` with the process's arguments
// and exits with its code (dist/cli.cjs calls it).
import { main } from './main.ts';

export { main };

export async function run(): Promise<void> {
  const code = await main(process.argv.slice(2));
  process.exit(code);
}
