export async function progMain(_args: string[]): Promise<number> { return 2; }
export async function mapMain(_args: string[]): Promise<number> { return 2; }
export async function linkMain(_args: string[]): Promise<number> { return 2; }
